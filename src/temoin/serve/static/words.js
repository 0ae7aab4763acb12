// The page's words in its language, for every script: the server writes them into the page as
// a JSON block (serve/words.py) from the `_("…")` and `ngettext(…)` calls found in the scripts.
// A page without the block, or the service worker, which has no page, speaks English (the worker
// shows nothing: the page says what it recorded).
(function () {
  "use strict";
  var inPage = typeof document !== "undefined";
  var block = inPage && document.getElementById("words");
  var words = JSON.parse((block && block.textContent) || "{}");
  function lang() { return (inPage && document.documentElement.lang) || "en"; }
  function _(text) { return typeof words[text] === "string" ? words[text] : text; }
  function ngettext(one, other, n) {
    var forms = words[one];
    var category = self.Intl && Intl.PluralRules ? new Intl.PluralRules(lang()).select(n) : "";
    if (forms && typeof forms === "object") return forms[category] || forms.other || other;
    return n === 1 ? one : other;
  }
  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (all, name) { return name in values ? values[name] : all; });
  }
  self.temoinWords = { _: _, ngettext: ngettext, fill: fill, lang: lang };
})();
