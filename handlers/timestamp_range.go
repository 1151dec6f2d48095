package handlers

import (
	"net/http"
	"time"

	"github.com/eventpulse/eventpulse/internal/ingest"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// checkTimestampRange returns a 400 naming the query parameter param when
// value is set and lies outside the range of event timestamps, the same
// range that ingestion and backtests accept.
func checkTimestampRange(param string, value oas.OptDateTime) error {
	t, ok := value.Get()
	if !ok || ingest.TimestampInRange(t) {
		return nil
	}

	return Errorf(http.StatusBadRequest, "%s must be at or after %s and before %s, got %s",
		param, ingest.MinTimestamp.Format(time.RFC3339), ingest.MaxTimestamp.Format(time.RFC3339),
		t.Format(time.RFC3339Nano))
}
