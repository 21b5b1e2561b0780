// Mounts GraphiQL with the settings the server rendered into #graphiql-config (see
// web/graphiql.go). This lives in its own file so the page's Content-Security-Policy can
// forbid inline scripts.
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  var headers = config.headers || {};

  var defaultQuery = [
    '# Omnicanal: one GraphQL API for web, mobile, kiosk and POS.',
    '# Every request names its sales channel with the X-Channel-Key header',
    '# (see the Headers tab below). Press the run button or Ctrl-Enter.',
    '{',
    '  products(first: 3) {',
    '    edges {',
    '      node {',
    '        title',
    '        handle',
    '      }',
    '    }',
    '  }',
    '}',
    ''
  ].join('\n');

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: config.endpoint }),
      defaultQuery: defaultQuery,
      // Pretty-printed so the headers editor opens readable; once the user edits them,
      // shouldPersistHeaders keeps their version in local storage across reloads.
      defaultHeaders: JSON.stringify(headers, null, 2),
      shouldPersistHeaders: true,
      // Open the headers tab: the channel key is the first thing a newcomer needs to see.
      defaultEditorToolsVisibility: Object.keys(headers).length > 0 ? 'headers' : false
    })
  );
})();
