// Small DOM helpers of the demo pages (kiosk.js, pickup.js), found as
// window.OmnicanalPage. Loaded like shared/graphql.js: a plain deferred
// script before the page's own. Text goes in with textContent only, never
// as HTML.
'use strict';

window.OmnicanalPage = (function () {
  // $ returns the element with that data-testid inside root (the document
  // if none): the pages and their browser tests find elements the same way.
  const $ = (testid, root) => (root || document).querySelector(`[data-testid="${testid}"]`);

  // show puts message in el and shows it; an empty message hides el.
  function show(el, message) {
    el.textContent = message || '';
    el.hidden = !message;
  }

  // money formats a Money ({ amount, currencyCode }) in the page's
  // language; '—' for none.
  function money(m) {
    if (!m) {
      return '—';
    }
    try {
      return new Intl.NumberFormat(document.documentElement.lang || 'en', { style: 'currency', currency: m.currencyCode }).format(Number(m.amount));
    } catch (e) {
      return `${m.amount} ${m.currencyCode}`;
    }
  }

  // showLive shows a subscription's state (see OmnicanalGraphQL's
  // onStatus) in el: data-state for the style, and labels[state] as text.
  function showLive(el, state, labels) {
    el.dataset.state = state;
    el.textContent = labels[state] || state;
  }

  return Object.freeze({ $, show, money, showLive });
})();
