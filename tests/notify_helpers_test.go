package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// newAnomaly returns an anomaly of a fresh rule as the detector would
// record it.
func newAnomaly(severity string) events.AnomalyDetected {
	end := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)

	return events.AnomalyDetected{
		AnomalyID:      uuid.New(),
		RuleID:         uuid.New(),
		RuleVersion:    1,
		RuleName:       "checkout errors <burst>",
		Severity:       severity,
		GroupKey:       "source=web/checkout",
		Observed:       12,
		Threshold:      10,
		Operator:       ">",
		WindowStart:    end.Add(-time.Minute),
		WindowEnd:      end,
		EventID:        uuid.New(),
		SampleEventIDs: []uuid.UUID{uuid.New()},
		Message:        "12 error events in 60s (threshold > 10)",
		DetectedAt:     end,
	}
}

// appendAnomaly appends anomaly to the log the way the detector does.
func appendAnomaly(t testing.TB, a *testapp.App, anomaly events.AnomalyDetected) {
	t.Helper()

	msg, err := events.NewMessage(anomaly, events.Envelope{
		CorrelationID: anomaly.EventID.String(),
		CausationID:   anomaly.EventID.String(),
		Actor:         "detector",
		RecordedAt:    time.Now(),
	})
	require.NoError(t, err)

	ctx := background()
	require.NoError(t, pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, msg)
	}))
}

// startWithChannels starts an App whose notification config is yaml.
func startWithChannels(t *testing.T, yaml string, opts testapp.Options) *testapp.App {
	t.Helper()

	path := filepath.Join(t.TempDir(), "notify.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))

	opts.Config = func(c *config.Config) { c.NotifyConfigPath = path }

	return testapp.Start(t, opts)
}

// fastDelivery is a delivery section that retries quickly.
const fastDelivery = `
dashboard_url: http://127.0.0.1:8080/dashboard
delivery:
  max_attempts: 3
  initial_backoff: 100ms
  max_backoff: 2s
  poll_interval: 50ms
  send_timeout: 2s
  lease: 3s
`

// deliveryStatus returns the status and attempts of one delivery.
func deliveryStatus(t *testing.T, a *testapp.App, anomalyID uuid.UUID, channel string) (string, int) {
	t.Helper()

	var status string
	var attempts int
	err := a.Pool.QueryRow(background(), `
		SELECT status, attempts FROM notification_deliveries WHERE anomaly_id = $1 AND channel = $2`,
		anomalyID, channel).Scan(&status, &attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0
	}
	require.NoError(t, err)

	return status, attempts
}

func waitForStatus(t *testing.T, a *testapp.App, anomalyID uuid.UUID, channel, want string) {
	t.Helper()

	testapp.WaitFor(t, 30*time.Second, "delivery to "+channel+" to be "+want, func() bool {
		status, _ := deliveryStatus(t, a, anomalyID, channel)
		return status == want
	})
}

// slackRequest is one request the fake Slack webhook received.
type slackRequest struct {
	at   time.Time
	body map[string]any
}

// fakeSlack is a local Slack incoming webhook. Each request gets the next
// answer of the script, and the last one repeats. A zero status makes the
// request hang until the client gives up.
type fakeSlack struct {
	server *httptest.Server

	mu        sync.Mutex
	script    []slackAnswer
	delivered []slackRequest
	aborted   int
	hanging   chan struct{}
}

type slackAnswer struct {
	status     int
	retryAfter string
}

func newFakeSlack(t *testing.T, script ...slackAnswer) *fakeSlack {
	t.Helper()

	if len(script) == 0 {
		script = []slackAnswer{{status: http.StatusOK}}
	}

	f := &fakeSlack{script: script, hanging: make(chan struct{}, 16)}
	f.server = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.server.Close)

	return f
}

func (f *fakeSlack) URL() string { return f.server.URL + "/services/T000/B000/secret-token" }

func (f *fakeSlack) handle(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)

	f.mu.Lock()
	answer := f.script[0]
	if len(f.script) > 1 {
		f.script = f.script[1:]
	}
	f.mu.Unlock()

	if answer.status == 0 {
		select {
		case f.hanging <- struct{}{}:
		default:
		}
		<-r.Context().Done()
		f.mu.Lock()
		f.aborted++
		f.mu.Unlock()
		return
	}

	if answer.retryAfter != "" {
		w.Header().Set("Retry-After", answer.retryAfter)
	}
	w.WriteHeader(answer.status)

	if answer.status == http.StatusOK {
		var body map[string]any
		_ = json.Unmarshal(data, &body)
		f.mu.Lock()
		f.delivered = append(f.delivered, slackRequest{at: time.Now(), body: body})
		f.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}
}

// deliveredRequests returns the requests answered with 200, in order.
func (f *fakeSlack) deliveredRequests() []slackRequest {
	f.mu.Lock()
	defer f.mu.Unlock()

	return append([]slackRequest(nil), f.delivered...)
}

// receivedMail is one message the fake SMTP server accepted.
type receivedMail struct {
	from      string
	to        []string
	data      []byte
	tls       bool
	username  string
	password  string
	authOnTLS bool
}

// smtpServer is a real SMTP server in the test process that offers
// STARTTLS with a self-signed certificate and requires AUTH PLAIN over TLS.
type smtpServer struct {
	addr   string
	caFile string

	mu   sync.Mutex
	mail []receivedMail
}

func newSMTPServer(t *testing.T) *smtpServer {
	t.Helper()

	certificate, caPEM := selfSignedCertificate(t)
	s := &smtpServer{caFile: filepath.Join(t.TempDir(), "ca.pem")}
	require.NoError(t, os.WriteFile(s.caFile, caPEM, 0o600))

	server := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{server: s, conn: c}, nil
	}))
	server.Domain = "127.0.0.1"
	server.TLSConfig = &tls.Config{Certificates: []tls.Certificate{certificate}, MinVersion: tls.VersionTLS12}
	server.ReadTimeout = 10 * time.Second
	server.WriteTimeout = 10 * time.Second

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = listener.Addr().String()

	go func() { _ = server.Serve(listener) }()
	t.Cleanup(func() { _ = server.Close() })

	return s
}

func (s *smtpServer) received() []receivedMail {
	s.mu.Lock()
	defer s.mu.Unlock()

	return append([]receivedMail(nil), s.mail...)
}

type smtpSession struct {
	server *smtpServer
	conn   *smtp.Conn
	mail   receivedMail
}

func (s *smtpSession) isTLS() bool {
	_, ok := s.conn.TLSConnectionState()
	return ok
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		s.mail.username, s.mail.password, s.mail.authOnTLS = username, password, s.isTLS()
		if username != "alerts" || password != "s3cret-pass" {
			return errors.New("invalid credentials")
		}
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.mail.username == "" {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	s.mail.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mail.to = append(s.mail.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}

	s.mail.data = data
	s.mail.tls = s.isTLS()
	s.server.mu.Lock()
	s.server.mail = append(s.server.mail, s.mail)
	s.server.mu.Unlock()

	return nil
}

func (s *smtpSession) Reset() {
	s.mail = receivedMail{username: s.mail.username, password: s.mail.password, authOnTLS: s.mail.authOnTLS}
}

func (s *smtpSession) Logout() error { return nil }

// selfSignedCertificate returns a certificate for 127.0.0.1 and its PEM.
func selfSignedCertificate(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)

	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "eventpulse test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}

	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	require.NoError(t, err)

	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)

	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	certificate, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)

	return certificate, certPEM
}

func anomalyJSON(t *testing.T, anomaly events.AnomalyDetected) string {
	t.Helper()

	data, err := json.Marshal(anomaly)
	require.NoError(t, err)

	return string(data)
}

func notifierMeta() projection.Meta {
	return projection.Meta{RecordID: uuid.NewString()}
}

// appendAnomalies appends several anomalies in one transaction, preceded by
// a record of another kind, as a detector batch would.
func appendAnomalies(t *testing.T, a *testapp.App, anomalies ...events.AnomalyDetected) {
	t.Helper()

	envelope := events.Envelope{CorrelationID: uuid.NewString(), Actor: "detector", RecordedAt: time.Now()}
	other, err := events.NewMessage(events.RuleDeleted{RuleID: uuid.New()}, envelope)
	require.NoError(t, err)

	msgs := []*message.Message{other}
	for _, anomaly := range anomalies {
		msg, err := events.NewMessage(anomaly, envelope)
		require.NoError(t, err)
		msgs = append(msgs, msg)
	}

	ctx := background()
	require.NoError(t, pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, msgs...)
	}))
}
