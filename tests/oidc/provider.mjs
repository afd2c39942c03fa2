// A certified OpenID Connect provider (oidc-provider) for Strongroom's
// sign-in tests (tests/serve/oidc.rs starts it with node). Environment:
// PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, KID (the signing key's id:
// a restart with another KID is a key rotation). Every subject's verified
// email is SUBJECT@example.com. `POST /test/mode?set=…` makes the token
// endpoint answer a bad ID token from then on, for the refusal tests:
// `tamper` (a changed claim, the old signature), `nonce` (re-signed with
// another nonce), `aud` (re-signed for another client), `honest` (none).

import { generateKeyPairSync } from "node:crypto";
import * as jose from "jose";
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const kid = process.env.KID || "key-1";
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };

let mode = "honest";

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  claims: { openid: ["sub"], email: ["email", "email_verified"] },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.com`, email_verified: true }),
  }),
  cookies: { keys: ["strongroom-test-cookie-key"] },
  // The ID token carries the email claims, as most providers' do.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
});

async function mutate(token) {
  if (mode === "tamper") {
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url"));
    claims.sub = `${claims.sub}-tampered`;
    return [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".");
  }
  const claims = jose.decodeJwt(token);
  if (mode === "nonce") claims.nonce = "not-the-nonce";
  if (mode === "aud") claims.aud = "another-client";
  const key = await jose.importJWK(jwk, "RS256");
  return new jose.SignJWT(claims).setProtectedHeader({ alg: "RS256", kid }).sign(key);
}

provider.use(async (ctx, next) => {
  if (ctx.path === "/test/mode") {
    mode = ctx.query.set;
    ctx.body = { mode };
    return;
  }
  await next();
  if (ctx.path === "/token" && ctx.status === 200 && mode !== "honest" && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: await mutate(ctx.body.id_token) };
  }
});

provider.listen(port, "127.0.0.1", () => console.log(`oidc-provider listening on ${issuer} (key ${kid})`));
