package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStartPprofRejectsNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", "192.0.2.1:6060", ":6060", "nonsense"} {
		err := startPprof(context.Background(), addr, slog.New(slog.DiscardHandler))
		require.Error(t, err, addr)
		require.Contains(t, err.Error(), pprofAddrEnv, addr)
	}
}

func TestStartPprofOffWhenUnset(t *testing.T) {
	require.NoError(t, startPprof(context.Background(), "", slog.New(slog.DiscardHandler)))
}

func TestContentionSamplingChangesRates(t *testing.T) {
	sampling := &contentionSampling{}
	sampling.set(blockProfileRateNanos, mutexProfileFraction)
	t.Cleanup(func() { sampling.set(0, 0) })

	read := func(method, target string) (int, contentionBody) {
		recorder := httptest.NewRecorder()
		sampling.ServeHTTP(recorder, httptest.NewRequest(method, target, nil))

		var body contentionBody
		if recorder.Code == http.StatusOK {
			require.NoError(t, json.Unmarshal(recorder.Body.Bytes(), &body))
		}

		return recorder.Code, body
	}

	status, body := read(http.MethodGet, contentionPath)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, contentionBody{BlockRateNanos: blockProfileRateNanos, MutexFraction: mutexProfileFraction}, body)

	status, body = read(http.MethodPost, contentionPath+"?block_rate_ns=0&mutex_fraction=0")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, contentionBody{}, body)
	require.Equal(t, 0, runtime.SetMutexProfileFraction(-1))

	status, body = read(http.MethodPost, contentionPath+"?mutex_fraction=5")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, contentionBody{BlockRateNanos: 0, MutexFraction: 5}, body)
	require.Equal(t, 5, runtime.SetMutexProfileFraction(-1))

	status, _ = read(http.MethodPost, contentionPath+"?block_rate_ns=-1")
	require.Equal(t, http.StatusBadRequest, status)
	status, _ = read(http.MethodPost, contentionPath+"?mutex_fraction=many")
	require.Equal(t, http.StatusBadRequest, status)
	status, _ = read(http.MethodPut, contentionPath)
	require.Equal(t, http.StatusMethodNotAllowed, status)

	_, body = read(http.MethodGet, contentionPath)
	require.Equal(t, contentionBody{BlockRateNanos: 0, MutexFraction: 5}, body)
}
