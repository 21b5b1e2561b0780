// The store kiosk: a shopper types the handoff code their phone shows (or
// opens /kiosk/?code=… from its QR code), and the cart they started at
// home appears here, kept up to date live while they go on changing it on
// the phone; they can look products up, see what this store has on the
// shelf, and add them.
//
// It uses the public GraphQL API exactly as any client would: POST
// /graphql with the kiosk's channel key for queries and mutations, and the
// graphql-transport-ws protocol over a WebSocket for the cartUpdated
// subscription (the client in ../shared/graphql.js, shared with the pickup
// desk). No framework, no build step, and no inline script or style: the
// page runs under a strict Content-Security-Policy.
//
// Configuration: the channel key is `?key=` in the page's URL, else the one
// saved by an earlier `?key=` on this device, else the Paris demo kiosk.
'use strict';

(function () {
  const DEFAULT_KEY = 'pk_demo_kiosk_paris';
  const KEY_STORAGE = 'omnicanal.kiosk.key';
  const ENDPOINT = '/graphql';
  // A kiosk is a shared screen: a cart left open is closed after this.
  const IDLE_MS = 5 * 60 * 1000;

  const params = new URLSearchParams(window.location.search);
  const channelKey = (function () {
    const fromURL = params.get('key');
    try {
      if (fromURL) {
        window.localStorage.setItem(KEY_STORAGE, fromURL);
        return fromURL;
      }
      return window.localStorage.getItem(KEY_STORAGE) || DEFAULT_KEY;
    } catch (e) {
      return fromURL || DEFAULT_KEY; // storage refused (private mode)
    }
  })();

  const CART_FIELDS = `fragment K on Cart {
    id version status currencyCode mergedIntoId
    lines {
      id quantity
      merchandise { id sku title product { title } }
      addedByChannel { kind name }
      cost { subtotal { amount currencyCode } total { amount currencyCode } }
      adjustments { description code amount { amount currencyCode } }
    }
    cost { subtotal { amount currencyCode } discountTotal { amount currencyCode } total { amount currencyCode } }
    adjustments { description code amount { amount currencyCode } }
    discountCodes { code applicable message }
  }`;
  const VARIANT_FIELDS = `fragment V on ProductVariant {
    id sku title price { amount currencyCode } quantityAvailableHere product { title }
  }`;

  // The open cart: its id, this kiosk's token of it, and the last version
  // shown (pushes and mutation results may arrive in any order).
  const state = { cartId: null, token: null, version: 0, live: null, idle: null };

  // The GraphQL client and the DOM helpers shared with the pickup desk
  // (shared/graphql.js and shared/page.js, loaded before this script).
  const { Client, userError } = window.OmnicanalGraphQL;
  const { $, show, money, showLive } = window.OmnicanalPage;
  const api = new Client(ENDPOINT, () => ({ 'X-Channel-Key': channelKey }));
  const gql = (query, variables) => api.query(query, variables);

  // ---- Rendering ----

  const LIVE = {
    off: 'Not connected',
    connecting: 'Connecting…',
    live: 'Live: changes on your phone show here',
    reconnecting: 'Connection lost, reconnecting…',
  };
  const setLive = (status) => showLive($('live-status'), status, LIVE);

  function explanations(list, adjustments) {
    list.replaceChildren();
    for (const a of adjustments || []) {
      const li = document.createElement('li');
      li.textContent = `${a.description}${a.code ? ` (code ${a.code})` : ''}: −${money(a.amount)}`;
      list.append(li);
    }
  }

  function renderCart(cart) {
    if (!cart || cart.id !== state.cartId || cart.version < state.version) {
      return; // an older state than the one shown, or another cart
    }
    state.version = cart.version;
    $('cart-status').textContent = cart.status.toLowerCase();
    $('cart-version').textContent = String(cart.version);
    const lines = $('cart-lines');
    const tpl = document.getElementById('line-template');
    lines.replaceChildren();
    for (const l of cart.lines) {
      const li = tpl.content.firstElementChild.cloneNode(true);
      li.dataset.sku = l.merchandise.sku;
      li.dataset.lineId = l.id;
      li.querySelector('.title').textContent = l.merchandise.product.title;
      li.querySelector('.variant').textContent = l.merchandise.title;
      li.querySelector('.sku').textContent = l.merchandise.sku;
      li.querySelector('.channel').textContent = `added on ${l.addedByChannel.name}`;
      li.querySelector('[data-testid="line-quantity"]').textContent = String(l.quantity);
      const sub = li.querySelector('.subtotal');
      const total = li.querySelector('.linetotal');
      if (l.cost) {
        total.textContent = money(l.cost.total);
        sub.textContent = l.cost.subtotal.amount !== l.cost.total.amount ? money(l.cost.subtotal) : '';
      } else {
        total.textContent = 'no price here';
      }
      explanations(li.querySelector('.explain'), l.adjustments);
      lines.append(li);
    }
    $('cart-empty').hidden = cart.lines.length > 0;
    explanations($('cart-adjustments'), cart.adjustments);
    const codes = $('cart-codes');
    codes.replaceChildren();
    for (const c of cart.discountCodes) {
      const li = document.createElement('li');
      li.textContent = c.applicable ? `Code ${c.code}: applied` : `Code ${c.code}: ${c.message}`;
      codes.append(li);
    }
    $('cart-subtotal').textContent = money(cart.cost.subtotal);
    $('cart-discount').textContent = `−${money(cart.cost.discountTotal)}`;
    $('cart-total').textContent = money(cart.cost.total);
    if (cart.status !== 'ACTIVE') {
      show($('cart-error'), cart.status === 'MERGED'
        ? 'This cart was merged into your account’s cart. Sign in on your phone to see it.'
        : 'This cart can no longer change.');
    }
  }

  // ---- Flow ----

  function openCart(cart, token) {
    closeCart();
    state.cartId = cart.id;
    state.token = token;
    state.version = 0;
    renderCart(cart);
    $('resume').hidden = true;
    $('cart').hidden = false;
    $('lookup').hidden = false;
    show($('cart-error'), '');
    state.live = api.subscribe(
      'subscription($id: ID!, $token: String) { cartUpdated(cartId: $id, token: $token) { ...K } }' + CART_FIELDS,
      { id: cart.id, token },
      {
        onNext: (data) => renderCart(data.cartUpdated),
        onError: (err) => show($('cart-error'), err.message),
        onStatus: setLive,
        // The server ends the subscription when the cart stops changing
        // or this kiosk's token stopped working: ask why.
        onComplete: () => explainEnd(),
      },
    );
    touch();
  }

  async function explainEnd() {
    if (!state.cartId) {
      return;
    }
    try {
      const data = await gql('query($id: ID, $token: String) { cart(id: $id, token: $token) { ...K } }' + CART_FIELDS,
        { id: state.cartId, token: state.token });
      renderCart(data.cart);
    } catch (err) {
      show($('cart-error'), err.message);
    }
  }

  function closeCart() {
    if (state.live) {
      state.live.close();
    }
    Object.assign(state, { cartId: null, token: null, version: 0, live: null });
    window.clearTimeout(state.idle);
    $('cart').hidden = true;
    $('lookup').hidden = true;
    $('resume').hidden = false;
    $('lookup-results').replaceChildren();
    setLive('off');
  }

  function touch() {
    window.clearTimeout(state.idle);
    if (state.cartId) {
      state.idle = window.setTimeout(closeCart, IDLE_MS);
    }
  }

  async function resume(code) {
    const err = $('resume-error');
    show(err, '');
    try {
      const data = await gql('mutation($code: String!) { cartResume(code: $code) { cart { ...K } token userErrors { code message } } }' + CART_FIELDS, { code });
      const p = data.cartResume;
      const ue = userError(p);
      if (ue) {
        throw ue;
      }
      $('code-input').value = '';
      openCart(p.cart, p.token);
    } catch (e) {
      show(err, e.code === 'NOT_FOUND' ? 'This code is unknown, expired or already used. Make a new one on your phone.' : e.message);
    }
  }

  // A SKU (letters and digits in dash-separated groups) or a barcode is
  // looked up exactly; anything else is a search.
  async function lookup(text) {
    const results = $('lookup-results');
    const err = $('lookup-error');
    show(err, '');
    results.replaceChildren();
    let variants = [];
    try {
      if (/^[A-Za-z0-9]+(-[A-Za-z0-9]+)+$/.test(text) || /^\d{8,14}$/.test(text)) {
        const arg = /^\d+$/.test(text) ? 'barcode' : 'sku';
        const data = await gql(`query($v: String) { variant(${arg}: $v) { ...V } }` + VARIANT_FIELDS, { v: text.toUpperCase() });
        if (data.variant) {
          variants = [data.variant];
        }
      } else {
        const data = await gql('query($q: String) { search(query: $q, first: 5) { nodes { variants(first: 20) { ...V } } } }' + VARIANT_FIELDS, { q: text });
        variants = data.search.nodes.flatMap((p) => p.variants);
      }
    } catch (e) {
      show(err, e.message);
      return;
    }
    if (!variants.length) {
      show(err, 'Nothing found on this kiosk.');
      return;
    }
    const tpl = document.getElementById('result-template');
    for (const v of variants) {
      const li = tpl.content.firstElementChild.cloneNode(true);
      li.dataset.sku = v.sku;
      li.querySelector('.title').textContent = v.product.title;
      li.querySelector('.variant').textContent = v.title;
      li.querySelector('.sku').textContent = v.sku;
      const here = v.quantityAvailableHere;
      const stock = li.querySelector('.stock');
      stock.textContent = here == null ? '' : here > 0 ? `In stock here: ${here}` : 'Not in stock here';
      stock.dataset.inStock = String(here > 0);
      li.querySelector('.price').textContent = money(v.price);
      const add = li.querySelector('.add');
      add.disabled = !v.price;
      add.addEventListener('click', () => addLine(v.id, add));
      results.append(li);
    }
  }

  async function addLine(variantId, button) {
    if (!state.cartId) {
      return;
    }
    button.disabled = true;
    const err = $('lookup-error');
    show(err, '');
    try {
      const data = await gql(`mutation($id: ID!, $token: String, $lines: [CartLineInput!]!) {
          cartLinesAdd(cartId: $id, token: $token, lines: $lines) { cart { ...K } userErrors { code message } } }` + CART_FIELDS,
        { id: state.cartId, token: state.token, lines: [{ merchandiseId: variantId, quantity: 1 }] });
      const p = data.cartLinesAdd;
      renderCart(p.cart);
      const ue = userError(p);
      if (ue) {
        throw ue;
      }
    } catch (e) {
      show(err, e.message);
    } finally {
      button.disabled = false;
    }
  }

  async function loadChannel() {
    try {
      const data = await gql('{ channel { name store { name } } }');
      $('store-name').textContent = data.channel.store ? data.channel.store.name : data.channel.name;
    } catch (e) {
      show($('resume-error'), `This kiosk is not set up: ${e.message}`);
    }
  }

  document.getElementById('resume-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    resume($('code-input').value);
  });
  document.getElementById('lookup-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    touch();
    lookup($('lookup-input').value.trim());
  });
  document.getElementById('leave').addEventListener('click', closeCart);
  for (const type of ['pointerdown', 'keydown']) {
    document.addEventListener(type, touch, { passive: true });
  }

  loadChannel();
  const code = params.get('code');
  if (code) {
    // Opened from a QR code: resume at once, and take the code out of the
    // address bar (it is used up; a reload must not try it again).
    params.delete('code');
    const rest = params.toString();
    window.history.replaceState(null, '', window.location.pathname + (rest ? `?${rest}` : ''));
    resume(code);
  }
})();
