package tests

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// specOperation is one operation of openapi.yaml with the scope its
// security requirement names, "" for an operation without security.
type specOperation struct {
	method, path, id string
	scope            auth.Scope
}

func specOperations(t *testing.T) []specOperation {
	t.Helper()

	data, err := os.ReadFile("../openapi.yaml")
	require.NoError(t, err)

	var spec struct {
		Security []map[string][]string           `yaml:"security"`
		Paths    map[string]map[string]yaml.Node `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(data, &spec))

	var operations []specOperation
	for path, item := range spec.Paths {
		for method, node := range item {
			var op struct {
				OperationID string                 `yaml:"operationId"`
				Security    *[]map[string][]string `yaml:"security"`
			}
			if node.Decode(&op) != nil || op.OperationID == "" {
				continue
			}

			security := spec.Security
			if op.Security != nil {
				security = *op.Security
			}

			scope := auth.Scope("")
			for _, requirement := range security {
				for _, roles := range requirement {
					if len(roles) > 0 {
						scope = auth.Scope(roles[0])
					}
				}
			}

			operations = append(operations, specOperation{strings.ToUpper(method), path, op.OperationID, scope})
		}
	}

	return operations
}

var pathParameter = regexp.MustCompile(`\{([a-z_]+)\}`)

// concretePath fills the path parameters with well-formed values.
func concretePath(path string) string {
	return pathParameter.ReplaceAllStringFunc(path, func(parameter string) string {
		switch parameter {
		case "{id}":
			return "1"
		case "{name}":
			return "events"
		default:
			return newID().String()
		}
	})
}

func TestAuthEveryOperationOfTheSpec(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	keys := map[auth.Scope]string{}
	for _, scope := range []auth.Scope{auth.ScopeIngest, auth.ScopeRead, auth.ScopeAdmin} {
		_, keys[scope] = createKey(t, a, "only-"+string(scope), scope)
	}
	_, readAndIngest := createKey(t, a, "read-and-ingest", auth.ScopeRead, auth.ScopeIngest)
	revokedID, revokedKey := createKey(t, a, "revoked", auth.ScopeAdmin)
	require.NoError(t, auth.RevokeKey(background(), a.Pool, uuidOf(t, revokedID), "test"))
	testapp.WaitFor(t, 30*time.Second, "revocation projected", func() bool {
		return a.Count("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL") == 1
	})
	time.Sleep(auth.CacheTTLDefault)

	// A key without the scope an operation needs.
	lacking := map[auth.Scope]string{
		auth.ScopeIngest: keys[auth.ScopeRead],
		auth.ScopeRead:   keys[auth.ScopeIngest],
		auth.ScopeAdmin:  readAndIngest,
	}

	operations := specOperations(t)
	require.Greater(t, len(operations), 20, "operations read from openapi.yaml")

	for _, op := range operations {
		path := concretePath(op.path)
		name := op.id + " " + op.method + " " + path
		body := ""
		if op.method != http.MethodGet && op.method != http.MethodDelete {
			body = "{}"
		}

		if op.scope == "" {
			status, _, _ := request(t, a, op.method, path, "", "", body)
			require.NotEqual(t, http.StatusUnauthorized, status, "%s needs no key", name)
			continue
		}

		status, header, response := request(t, a, op.method, path, "", "", body)
		require.Equal(t, http.StatusUnauthorized, status, "%s without a key: %s", name, response)
		require.Equal(t, `Bearer realm="eventpulse"`, header.Get("WWW-Authenticate"), "%s without a key", name)

		status, header, _ = request(t, a, op.method, path, "bearer", "ep_00000000000000000000000000000000_wrong", body)
		require.Equal(t, http.StatusUnauthorized, status, "%s with a wrong key", name)
		require.Equal(t, `Bearer realm="eventpulse"`, header.Get("WWW-Authenticate"), "%s with a wrong key", name)

		status, _, _ = request(t, a, op.method, path, "x-api-key", revokedKey, body)
		require.Equal(t, http.StatusUnauthorized, status, "%s with a revoked key", name)

		status, _, response = request(t, a, op.method, path, "bearer", lacking[op.scope], body)
		require.Equal(t, http.StatusForbidden, status, "%s with a key lacking %q: %s", name, op.scope, response)

		status, _, response = request(t, a, op.method, path, "bearer", keys[op.scope], body)
		require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, status,
			"%s with a key of scope %q: %s", name, op.scope, response)
	}
}
