// The GraphQL client of the demo pages (kiosk.js, pickup.js): queries and
// mutations as POST /graphql, and subscriptions over a WebSocket in the
// graphql-transport-ws protocol, with just what a page needs. A plain
// script, no module and no build step: a page loads it with a <script>
// element before its own, both deferred, and finds it as
// window.OmnicanalGraphQL. The pages run under a strict
// Content-Security-Policy, so it is a same-origin file like theirs.
'use strict';

window.OmnicanalGraphQL = (function () {
  // APIError is what a request fails with: the message and the
  // extensions.code of the server's first error (INTERNAL without one).
  class APIError extends Error {
    constructor(message, code) {
      super(message);
      this.code = code;
    }
  }

  // The first of a response's errors, as an APIError.
  function firstError(errors) {
    const e = errors[0];
    return new APIError(e.message, (e.extensions && e.extensions.code) || 'INTERNAL');
  }

  // A mutation payload's first user error, as an APIError, or null.
  function userError(payload) {
    const e = payload && payload.userErrors && payload.userErrors[0];
    return e ? new APIError(e.message, e.code) : null;
  }

  // Client talks to the API at endpoint (a same-origin path). headers() is
  // called for every request and every connection, so that a header may
  // change on the way (a staff token after sign-in): its headers go with
  // each POST and, since a browser cannot set headers on a WebSocket, as
  // the connection_init payload.
  class Client {
    constructor(endpoint, headers) {
      this.endpoint = endpoint;
      this.headers = headers;
    }

    // query runs a query or a mutation and resolves to its data, or rejects
    // with an APIError.
    async query(query, variables) {
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Accept': 'application/graphql-response+json, application/json',
          ...this.headers(),
        },
        body: JSON.stringify({ query, variables }),
      });
      let body;
      try {
        body = await res.json();
      } catch (e) {
        throw new APIError(`the server answered ${res.status}`, 'INTERNAL');
      }
      if (body.errors && body.errors.length) {
        throw firstError(body.errors);
      }
      return body.data;
    }

    // subscribe starts a subscription; see Subscription.
    subscribe(query, variables, handlers) {
      return new Subscription(this, query, variables, handlers);
    }
  }

  // ---- graphql-transport-ws: just what a subscription needs ----
  //
  // connection_init (with the client's headers) → connection_ack →
  // subscribe → next… → complete. Pings are answered. When the socket
  // drops, it reconnects with a growing delay (1 s, doubling, at most 10 s)
  // and subscribes again: the pages' subscriptions push the whole state
  // first, so nothing missed meanwhile is lost.
  //
  // handlers: onNext(data) for each push, onError(APIError), onStatus(state)
  // with state 'connecting', 'live', 'reconnecting' or 'off', and, if
  // given, onComplete() when the server ends the subscription.

  class Subscription {
    constructor(client, query, variables, handlers) {
      this.client = client;
      this.query = query;
      this.variables = variables;
      this.handlers = handlers;
      this.closed = false;
      this.retries = 0;
      this.connect();
    }

    connect() {
      const url = new URL(this.client.endpoint, window.location.href);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      const ws = new WebSocket(url.href, 'graphql-transport-ws');
      this.ws = ws;
      this.handlers.onStatus('connecting');
      ws.addEventListener('open', () => {
        ws.send(JSON.stringify({ type: 'connection_init', payload: this.client.headers() }));
      });
      ws.addEventListener('message', (ev) => this.receive(ws, ev));
      ws.addEventListener('close', () => {
        if (this.closed || ws !== this.ws) {
          return;
        }
        this.handlers.onStatus('reconnecting');
        const delay = Math.min(1000 * 2 ** this.retries, 10000);
        this.retries++;
        this.timer = window.setTimeout(() => this.connect(), delay);
      });
    }

    receive(ws, ev) {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      switch (msg.type) {
        case 'connection_ack':
          this.retries = 0;
          ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: this.query, variables: this.variables } }));
          this.handlers.onStatus('live');
          break;
        case 'ping':
          ws.send(JSON.stringify({ type: 'pong' }));
          break;
        case 'next':
          if (msg.payload.errors && msg.payload.errors.length) {
            this.handlers.onError(firstError(msg.payload.errors));
          } else if (msg.payload.data) {
            this.handlers.onNext(msg.payload.data);
          }
          break;
        case 'error':
          this.handlers.onError(new APIError((msg.payload && msg.payload[0] && msg.payload[0].message) || 'subscription refused', 'INTERNAL'));
          break;
        case 'complete':
          this.close();
          if (this.handlers.onComplete) {
            this.handlers.onComplete();
          }
          break;
      }
    }

    // close ends the subscription for good: no reconnection follows.
    close() {
      this.closed = true;
      window.clearTimeout(this.timer);
      if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
        this.ws.close(1000);
      }
      this.handlers.onStatus('off');
    }
  }

  return Object.freeze({ APIError, Client, userError });
})();
