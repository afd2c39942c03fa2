// A link's QR code, drawn in this page (uqr): the link — and the key in
// its fragment — never leaves the browser to be drawn.

export async function draw(box, text) {
  const { renderSVG } = await import("./uqr.js");
  const svg = new DOMParser().parseFromString(renderSVG(text, { border: 2, pixelSize: 4 }), "image/svg+xml").documentElement;
  box.replaceChildren(...(svg.nodeName.toLowerCase() === "svg" ? [document.importNode(svg, true)] : []));
  box.hidden = false;
}
