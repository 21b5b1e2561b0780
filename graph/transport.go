package graph

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Media types of the GraphQL-over-HTTP specification.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// Error codes of requests rejected before GraphQL runs.
const (
	codeBadRequest       = "BAD_REQUEST"
	codeRequestTooLarge  = "REQUEST_TOO_LARGE"
	codeNotAcceptable    = "NOT_ACCEPTABLE"
	codeUnsupportedType  = "UNSUPPORTED_MEDIA_TYPE"
	codeMethodNotAllowed = "METHOD_NOT_ALLOWED"
)

// httpTransport serves GraphQL over HTTP GET and POST as the GraphQL-over-HTTP
// specification says. We use it instead of gqlgen's POST and GET transports
// because those echo the whole request body into error messages, give
// request errors no code and do not negotiate the response media type
// strictly; every rejection here is a GraphQL error body with a code.
type httpTransport struct {
	maxBodyBytes int64
	inFlight     *inFlight
}

var _ graphql.Transport = httpTransport{}

// Supports takes every request except websocket upgrades, so that wrong
// methods and media types get a proper GraphQL error rather than gqlgen's
// bare "transport not supported".
func (t httpTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == ""
}

// request is the GraphQL-over-HTTP request body.
type request struct {
	Query         *string        `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

func (t httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media, ok := negotiate(r.Header.Get("Accept"))
	if !ok {
		writeError(w, mediaJSON, http.StatusNotAcceptable, codeNotAcceptable,
			"the response can be sent as application/graphql-response+json or application/json; the Accept header allows neither")
		return
	}
	start := graphql.Now()
	var req request
	switch r.Method {
	case http.MethodPost:
		ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || ct != mediaJSON {
			writeError(w, media, http.StatusUnsupportedMediaType, codeUnsupportedType, "the request body must be application/json")
			return
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, t.maxBodyBytes))
		dec.UseNumber()
		if err := dec.Decode(&req); err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				writeError(w, media, http.StatusRequestEntityTooLarge, codeRequestTooLarge,
					"the request body is larger than "+strconv.FormatInt(t.maxBodyBytes, 10)+" bytes")
				return
			}
			// The decoder's message names the syntax problem without
			// echoing the body back.
			writeError(w, media, http.StatusBadRequest, codeBadRequest, "the request body is not a JSON object: "+err.Error())
			return
		}
		if dec.More() {
			writeError(w, media, http.StatusBadRequest, codeBadRequest, "the request body holds more than one JSON value")
			return
		}
	case http.MethodGet:
		q := r.URL.Query()
		if q.Has("query") {
			s := q.Get("query")
			req.Query = &s
		}
		req.OperationName = q.Get("operationName")
		for name, dst := range map[string]*map[string]any{"variables": &req.Variables, "extensions": &req.Extensions} {
			if v := q.Get(name); v != "" {
				if err := json.Unmarshal([]byte(v), dst); err != nil {
					writeError(w, media, http.StatusBadRequest, codeBadRequest, "the "+name+" parameter is not a JSON object")
					return
				}
			}
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, media, http.StatusMethodNotAllowed, codeMethodNotAllowed, "GraphQL is served over GET and POST")
		return
	}
	if req.Query == nil || strings.TrimSpace(*req.Query) == "" {
		writeError(w, media, http.StatusBadRequest, codeBadRequest, "the request has no query")
		return
	}

	params := &graphql.RawParams{
		Query:         *req.Query,
		OperationName: req.OperationName,
		Variables:     req.Variables,
		Extensions:    req.Extensions,
		Headers:       r.Header,
		ReadTime:      graphql.TraceTiming{Start: start, End: graphql.Now()},
	}
	ctx := r.Context()
	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		// A request error: nothing was executed. The new media type says so
		// with 400; plain application/json keeps 200 for legacy clients.
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		writeResponse(w, media, status, exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs))
		return
	}
	if r.Method == http.MethodGet && opCtx.Operation.Operation != ast.Query {
		// GET must be safe: a mutation sent that way could be triggered by a link.
		w.Header().Set("Allow", "POST")
		writeError(w, media, http.StatusMethodNotAllowed, codeMethodNotAllowed, "only queries may be sent with GET; send mutations with POST")
		return
	}
	release, ok := t.inFlight.enter(w, r, media, opCtx.Operation.Operation)
	if !ok {
		return
	}
	defer release()
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	writeResponse(w, media, http.StatusOK, responses(ctx))
}

// negotiate picks the response media type from the Accept header. No header
// means a legacy client: application/json. Otherwise the client's highest
// preference wins, the newer media type on ties and for wildcards.
func negotiate(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return mediaJSON, true
	}
	best, bestQ := "", 0.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(s, 64); err != nil {
				continue
			}
		}
		var media string
		switch mt {
		case mediaGraphQLResponse, "*/*", "application/*":
			media = mediaGraphQLResponse
		case mediaJSON:
			media = mediaJSON
		default:
			continue
		}
		if q > bestQ || (q == bestQ && q > 0 && media == mediaGraphQLResponse) {
			best, bestQ = media, q
		}
	}
	return best, bestQ > 0
}

func writeError(w http.ResponseWriter, media string, status int, code, msg string) {
	writeResponse(w, media, status, &graphql.Response{Errors: gqlerror.List{{
		Message:    msg,
		Extensions: map[string]any{"code": code},
	}}})
}

func writeResponse(w http.ResponseWriter, media string, status int, resp *graphql.Response) {
	if resp.Data != nil && len(resp.Errors) == 0 && len(resp.Extensions) == 0 && resp.Label == "" && resp.Path == nil && resp.HasNext == nil {
		// The common case: gqlgen has written the data as JSON already;
		// marshalling it again would only re-validate and copy it. (gqlgen
		// hands an empty, non-nil Extensions map when none was set.)
		w.Header().Set("Content-Type", media+"; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"data":`))
		_, _ = w.Write(resp.Data)
		_, _ = w.Write([]byte(`}`))
		return
	}
	var body any = resp
	if resp.Data == nil {
		// Nothing was executed: the response must not hold a "data" entry
		// (GraphQL spec, "Response Format"); gqlgen's type always writes one.
		body = struct {
			Errors     gqlerror.List  `json:"errors"`
			Extensions map[string]any `json:"extensions,omitempty"`
		}{resp.Errors, resp.Extensions}
	}
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
