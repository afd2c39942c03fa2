// The estimator the web client imports: zxcvbn-ts with the common and
// English dictionaries, configured once.
import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import * as common from "@zxcvbn-ts/language-common";
import * as en from "@zxcvbn-ts/language-en";

const zxcvbn = new ZxcvbnFactory({
  dictionary: { ...common.dictionary, ...en.dictionary },
  graphs: common.adjacencyGraphs,
  translations: en.translations,
});

// {score 0–4, feedback {warning, suggestions}} for `password`, counting
// `userInputs` (the username) as guessable.
export function strength(password, userInputs = []) {
  const r = zxcvbn.check(password, userInputs);
  return { score: r.score, warning: r.feedback.warning || "", suggestions: r.feedback.suggestions || [] };
}
