// The store pickup desk: a store associate signs in (staffSignIn), picks
// their store (staffMe lists the stores they work in; admins choose among
// the pickup stores), and sees the store's pickup queue live: orders placed
// on any channel appear, shoppers who say they arrived at the curb jump to
// the top. The associate starts preparing, marks an order ready (the
// customer gets the pickup code), types the code the customer shows, takes
// the payment of an order paid at pickup, and hands it over.
//
// It uses the public GraphQL API exactly as any client would: POST
// /graphql with the POS channel key and the staff token for queries and
// mutations, and the graphql-transport-ws protocol over a WebSocket for the
// pickupQueueUpdated subscription (the token goes in connection_init, since
// a browser cannot set headers on a WebSocket; the client is
// ../shared/graphql.js, shared with the kiosk). No framework, no build
// step, no inline script or style (the page runs under a strict CSP).
//
// Configuration: the channel key is `?key=` in the page's URL, else the
// Paris demo POS. The staff token lives in sessionStorage: closing the tab
// signs the desk out of this browser.
'use strict';

(function () {
  const params = new URLSearchParams(window.location.search);
  const channelKey = params.get('key') || 'pk_demo_pos_paris';
  const ENDPOINT = '/graphql';
  const TOKEN_KEY = 'omnicanal.pickup.token';
  const STORE_KEY = 'omnicanal.pickup.store';

  const ENTRY_FIELDS = `fragment E on PickupQueueEntry {
    customerName maskedEmail
    order {
      id number status paymentStatus paymentMethod placedAt readyAt holdUntil arrivedAt arrivalSpot
      lines { sku title variantTitle quantity }
      cost { total { amount currencyCode } }
    }
  }`;
  const PAYLOAD = `{ order { id status } userErrors { field message code } }`;

  const state = { token: null, staff: null, store: null, sub: null, entries: new Map() };

  const storage = {
    get(k) { try { return window.sessionStorage.getItem(k); } catch (e) { return null; } },
    set(k, v) { try { window.sessionStorage.setItem(k, v); } catch (e) { /* private mode */ } },
    del(k) { try { window.sessionStorage.removeItem(k); } catch (e) { /* private mode */ } },
  };

  // The GraphQL client and the DOM helpers shared with the kiosk
  // (shared/graphql.js and shared/page.js, loaded before this script). The
  // staff token, once signed in, goes with every request and connection.
  const { APIError, Client, userError } = window.OmnicanalGraphQL;
  const { $, show, money, showLive } = window.OmnicanalPage;
  const api = new Client(ENDPOINT, () => (state.token
    ? { 'X-Channel-Key': channelKey, Authorization: `Bearer ${state.token}` }
    : { 'X-Channel-Key': channelKey }));
  const gql = (query, variables) => api.query(query, variables);

  // ---- Rendering ----

  const STATUS = { PLACED: 'New', PREPARING: 'Preparing', READY_FOR_PICKUP: 'Ready' };

  const LIVE = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', off: 'Not connected' };
  const setLive = (status) => showLive($('live-status'), status, LIVE);
  const time = (s) => (s ? new Date(s).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'short' }) : '');

  function screen(name) {
    $('sign-in').hidden = name !== 'sign-in';
    $('store-picker').hidden = name !== 'store-picker';
    $('queue-panel').hidden = name !== 'queue';
    $('sign-out').hidden = name === 'sign-in';
  }

  // entryElement returns the list item of an order, made once and then
  // updated in place, so that a push never wipes a code being typed.
  function entryElement(id) {
    let li = state.entries.get(id);
    if (li) {
      return li;
    }
    li = document.getElementById('entry-template').content.firstElementChild.cloneNode(true);
    li.dataset.orderId = id;
    $('prepare-button', li).addEventListener('click', () => move(li, 'pickupOrderPrepare'));
    $('ready-button', li).addEventListener('click', () => move(li, 'pickupOrderReady'));
    $('handover-form', li).addEventListener('submit', (ev) => {
      ev.preventDefault();
      handOver(li);
    });
    state.entries.set(id, li);
    return li;
  }

  function renderQueue(entries) {
    const list = $('queue');
    const seen = new Set();
    entries.forEach((e) => {
      const o = e.order;
      seen.add(o.id);
      const li = entryElement(o.id);
      li.dataset.number = o.number;
      li.dataset.status = o.status;
      li.dataset.arrived = o.arrivedAt ? 'true' : 'false';
      $('order-number', li).textContent = o.number;
      $('customer', li).textContent = [e.customerName, e.maskedEmail].filter(Boolean).join(' · ') || 'Guest';
      $('order-status', li).textContent = STATUS[o.status] || o.status;
      const arrived = $('arrived', li);
      arrived.hidden = !o.arrivedAt;
      arrived.textContent = o.arrivalSpot ? `Arrived · ${o.arrivalSpot}` : 'Arrived';
      const lines = $('order-lines', li);
      lines.replaceChildren(...o.lines.map((l) => {
        const item = document.createElement('li');
        item.textContent = `${l.quantity} × ${l.title || 'Item'}${l.variantTitle ? ` — ${l.variantTitle}` : ''}${l.sku ? ` (${l.sku})` : ''}`;
        return item;
      }));
      const toPay = o.paymentMethod === 'AT_PICKUP' && o.paymentStatus !== 'PAID';
      const meta = [`${money(o.cost.total)} · ${toPay ? 'to pay at pickup' : o.paymentStatus.toLowerCase()}`, `placed ${time(o.placedAt)}`];
      if (o.holdUntil) {
        meta.push(`hold until ${time(o.holdUntil)}`);
      }
      $('order-meta', li).textContent = meta.join(' · ');
      $('prepare-button', li).hidden = o.status !== 'PLACED';
      $('ready-button', li).hidden = o.status !== 'PLACED' && o.status !== 'PREPARING';
      $('handover-form', li).hidden = o.status !== 'READY_FOR_PICKUP';
      $('tender-select', li).hidden = !toPay;
      li.dataset.toPay = toPay ? 'true' : 'false';
      list.appendChild(li); // in the queue's order
    });
    for (const [id, li] of state.entries) {
      if (!seen.has(id)) {
        li.remove();
        state.entries.delete(id);
      }
    }
    $('queue-count').textContent = String(entries.length);
    $('queue-empty').hidden = entries.length > 0;
  }

  async function run(li, button, fn) {
    show($('entry-error', li), '');
    button.disabled = true;
    try {
      await fn();
    } catch (e) {
      show($('entry-error', li), e.message);
      if (e.code === 'UNAUTHENTICATED') {
        signOut();
      }
    } finally {
      button.disabled = false;
    }
  }

  function move(li, mutation) {
    const button = $(mutation === 'pickupOrderPrepare' ? 'prepare-button' : 'ready-button', li);
    return run(li, button, async () => {
      const data = await gql(`mutation($id: ID!) { ${mutation}(orderId: $id) ${PAYLOAD} }`, { id: li.dataset.orderId });
      const err = userError(data[mutation]);
      if (err) {
        throw err;
      }
      // The subscription pushes the new queue.
    });
  }

  function handOver(li) {
    const form = $('handover-form', li);
    return run(li, $('handover-button', li), async () => {
      const vars = { id: li.dataset.orderId, code: form.elements.code.value };
      if (li.dataset.toPay === 'true') {
        vars.payment = { tender: form.elements.tender.value };
      }
      const data = await gql(`mutation($id: ID!, $code: String!, $payment: PickupPaymentInput) {
        pickupOrderHandOver(orderId: $id, code: $code, payment: $payment) ${PAYLOAD} }`, vars);
      const err = userError(data.pickupOrderHandOver);
      if (err) {
        throw err;
      }
      form.reset();
    });
  }

  // ---- Flow ----

  function openStore(store) {
    state.store = store;
    storage.set(STORE_KEY, store.id);
    $('store-name').textContent = store.name;
    screen('queue');
    if (state.sub) {
      state.sub.close();
    }
    state.entries.forEach((li) => li.remove());
    state.entries.clear();
    state.sub = api.subscribe(`subscription($loc: ID!) { pickupQueueUpdated(locationId: $loc) { ...E } } ${ENTRY_FIELDS}`,
      { loc: store.id }, {
        onNext: (data) => {
          show($('queue-error'), '');
          renderQueue(data.pickupQueueUpdated);
        },
        onError: (e) => show($('queue-error'), e.message),
        onStatus: setLive,
      });
  }

  async function pickStore() {
    let stores = state.staff.locations;
    if (!stores.length) {
      // Admins work everywhere: every store offering pickup.
      const data = await gql(`query { stores(pickupOnly: true, first: 50) { nodes { id code name } } }`);
      stores = data.stores.nodes;
    }
    const saved = storage.get(STORE_KEY);
    const chosen = stores.find((s) => s.id === saved) || (stores.length === 1 ? stores[0] : null);
    if (chosen) {
      openStore(chosen);
      return;
    }
    const list = $('stores');
    list.replaceChildren(...stores.map((s) => {
      const item = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.testid = 'store-button';
      b.textContent = `${s.name} (${s.code})`;
      b.addEventListener('click', () => openStore(s));
      item.appendChild(b);
      return item;
    }));
    screen('store-picker');
  }

  function signedIn(staff) {
    state.staff = staff;
    $('staff-name').textContent = staff.name;
    return pickStore();
  }

  function signOut() {
    if (state.token) {
      gql(`mutation($t: String!) { staffSignOut(token: $t) { signedOut } }`, { t: state.token }).catch(() => {});
    }
    if (state.sub) {
      state.sub.close();
      state.sub = null;
    }
    state.token = null;
    storage.del(TOKEN_KEY);
    storage.del(STORE_KEY);
    $('staff-name').textContent = '';
    $('store-name').textContent = '';
    screen('sign-in');
  }

  const STAFF_FIELDS = `id name role locations { id code name }`;

  document.getElementById('sign-in-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    show($('sign-in-error'), '');
    $('sign-in-button').disabled = true;
    try {
      const data = await gql(`mutation($email: String!, $password: String!) {
        staffSignIn(email: $email, password: $password) { token staff { ${STAFF_FIELDS} } userErrors { message code } } }`,
      { email: form.elements.email.value, password: form.elements.password.value });
      const err = userError(data.staffSignIn);
      if (err) {
        throw err;
      }
      state.token = data.staffSignIn.token;
      storage.set(TOKEN_KEY, state.token);
      form.reset();
      await signedIn(data.staffSignIn.staff);
    } catch (e) {
      show($('sign-in-error'), e.message);
    } finally {
      $('sign-in-button').disabled = false;
    }
  });
  $('sign-out').addEventListener('click', signOut);

  (async function start() {
    state.token = storage.get(TOKEN_KEY);
    if (!state.token) {
      screen('sign-in');
      return;
    }
    try {
      const data = await gql(`query { staffMe { ${STAFF_FIELDS} } }`);
      if (!data.staffMe) {
        throw new APIError('signed out', 'UNAUTHENTICATED');
      }
      await signedIn(data.staffMe);
    } catch (e) {
      signOut();
    }
  })();
})();
