package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
)

// Email sends notifications over SMTP as multipart/alternative messages
// with a plain-text and an HTML part.
type Email struct {
	config ChannelConfig
	tls    *tls.Config
}

// NewEmail returns the sender of an email channel.
func NewEmail(config ChannelConfig) (*Email, error) {
	tlsConfig := &tls.Config{ServerName: config.SMTP.Host, MinVersion: tls.VersionTLS12}

	if config.SMTP.CAFile != "" {
		pem, err := os.ReadFile(config.SMTP.CAFile)
		if err != nil {
			return nil, fmt.Errorf("channel %q: error reading smtp.ca_file: %w", config.Name, err)
		}

		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("channel %q: smtp.ca_file %s holds no PEM certificate", config.Name, config.SMTP.CAFile)
		}
		tlsConfig.RootCAs = roots
	}

	return &Email{config: config, tls: tlsConfig}, nil
}

// Send delivers the message to every recipient in one SMTP transaction.
// A 5xx reply is a permanent failure; connection errors and 4xx replies
// are retried. Errors never contain the password.
func (e *Email) Send(ctx context.Context, n Notification) error {
	message, err := e.compose(n, time.Now())
	if err != nil {
		return permanent("error composing email: %v", err)
	}

	return e.deliver(ctx, message)
}

func (e *Email) deliver(ctx context.Context, message []byte) error {
	address := net.JoinHostPort(e.config.SMTP.Host, strconv.Itoa(e.config.SMTP.Port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", address)
	if err != nil {
		return fmt.Errorf("error connecting to SMTP server %s: %w", address, err)
	}

	// The deadline bounds the whole conversation; net/smtp has no context.
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	client, err := smtp.NewClient(conn, e.config.SMTP.Host)
	if err != nil {
		_ = conn.Close()
		return classifySMTP("greeting", err)
	}
	defer func() { _ = client.Close() }()

	if err := e.converse(client, message); err != nil {
		return err
	}

	return nil
}

func (e *Email) converse(client *smtp.Client, message []byte) error {
	smtpConfig := e.config.SMTP

	if err := client.Hello(smtpConfig.HelloName); err != nil {
		return classifySMTP("EHLO", err)
	}

	hasTLS, _ := client.Extension("STARTTLS")
	switch {
	case smtpConfig.StartTLS == StartTLSDisabled:
	case hasTLS:
		if err := client.StartTLS(e.tls); err != nil {
			return classifySMTP("STARTTLS", err)
		}
	case smtpConfig.StartTLS == StartTLSRequired:
		return permanent("SMTP server %s does not offer STARTTLS, which smtp.starttls requires", smtpConfig.Host)
	}

	if smtpConfig.Username != "" || smtpConfig.Password != "" {
		// PlainAuth refuses to send credentials without TLS unless the
		// server is on loopback.
		auth := smtp.PlainAuth("", smtpConfig.Username, smtpConfig.Password, smtpConfig.Host)
		if err := client.Auth(auth); err != nil {
			return classifySMTP("AUTH", err)
		}
	}

	if err := client.Mail(e.config.From); err != nil {
		return classifySMTP("MAIL FROM", err)
	}

	for _, to := range e.config.To {
		if err := client.Rcpt(to); err != nil {
			return classifySMTP("RCPT TO "+to, err)
		}
	}

	writer, err := client.Data()
	if err != nil {
		return classifySMTP("DATA", err)
	}

	if _, err := writer.Write(message); err != nil {
		return classifySMTP("DATA", err)
	}

	if err := writer.Close(); err != nil {
		return classifySMTP("end of DATA", err)
	}

	return classifySMTP("QUIT", client.Quit())
}

// classifySMTP marks 5xx replies permanent; everything else is retried.
func classifySMTP(step string, err error) error {
	if err == nil {
		return nil
	}

	var protoErr *textproto.Error
	if errors.As(err, &protoErr) && protoErr.Code >= 500 {
		return permanent("SMTP %s rejected: %d %s", step, protoErr.Code, protoErr.Msg)
	}

	return fmt.Errorf("SMTP %s failed: %w", step, err)
}

// compose renders the headers and the two parts of the message.
func (e *Email) compose(n Notification, now time.Time) ([]byte, error) {
	var body bytes.Buffer
	parts := multipart.NewWriter(&body)

	plain, err := renderPlain(n)
	if err != nil {
		return nil, err
	}
	if err := writePart(parts, "text/plain; charset=utf-8", plain); err != nil {
		return nil, err
	}

	html, err := renderHTML(n)
	if err != nil {
		return nil, err
	}
	if err := writePart(parts, "text/html; charset=utf-8", html); err != nil {
		return nil, err
	}

	if err := parts.Close(); err != nil {
		return nil, err
	}

	var message bytes.Buffer
	header := func(name, value string) { fmt.Fprintf(&message, "%s: %s\r\n", name, value) }
	header("From", e.config.From)
	header("To", strings.Join(e.config.To, ", "))
	header("Subject", mimeWord("[EventPulse] "+truncate(summary(n.Anomaly), subjectMaxChars)))
	header("Date", now.UTC().Format(time.RFC1123Z))
	// The id is the same on every attempt, so a duplicate that a crash
	// after DATA could cause is recognisable by mail clients.
	header("Message-ID", fmt.Sprintf("<%s.%s@eventpulse>", n.Anomaly.AnomalyID, hex.EncodeToString([]byte(n.Channel))))
	header("X-EventPulse-Anomaly-ID", n.Anomaly.AnomalyID.String())
	header("MIME-Version", "1.0")
	header("Content-Type", "multipart/alternative; boundary="+parts.Boundary())
	message.WriteString("\r\n")
	message.Write(body.Bytes())

	return message.Bytes(), nil
}

func writePart(parts *multipart.Writer, contentType string, content []byte) error {
	part, err := parts.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {contentType},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}

	encoder := quotedprintable.NewWriter(part)
	if _, err := encoder.Write(content); err != nil {
		return err
	}

	return encoder.Close()
}

// subjectMaxChars caps the summary in the subject, in characters. Group keys
// quote payload values of any length, and the message body shows the whole
// summary.
const subjectMaxChars = 150

// mimeWord encodes a header value as RFC 2047 encoded words unless it is
// printable ASCII. Control characters are encoded too, so a line break in a
// rule name cannot end the header and start another one. Each encoded word
// after the first starts a continuation line, so an encoded value never
// makes a line longer than the 998 characters that RFC 5322 allows.
func mimeWord(s string) string {
	encoded := mime.QEncoding.Encode("utf-8", s)
	if encoded == s {
		return s
	}

	// The encoder separates words by one space, and an encoded word
	// contains no space.
	return strings.ReplaceAll(encoded, "?= =?", "?=\r\n =?")
}

// fields are the details shown in both parts, in order.
func fields(n Notification) [][2]string {
	a := n.Anomaly

	return [][2]string{
		{"Severity", a.Severity},
		{"Rule", fmt.Sprintf("%s (%s)", a.RuleName, a.RuleID)},
		{"Key", groupKeyText(a)},
		{"Observed", observedText(a)},
		{"Window", windowText(a)},
		{"Detected at", a.DetectedAt.UTC().Format(time.RFC3339)},
		{"Anomaly", a.AnomalyID.String()},
	}
}

func renderPlain(n Notification) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(summary(n.Anomaly) + "\r\n\r\n")

	for _, field := range fields(n) {
		fmt.Fprintf(&b, "%-12s %s\r\n", field[0]+":", field[1])
	}

	if n.DashboardURL != "" {
		fmt.Fprintf(&b, "\r\nDashboard: %s\r\n", n.DashboardURL)
	}

	return b.Bytes(), nil
}

var htmlTemplate = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2>{{.Summary}}</h2>
<table cellpadding="4">
{{range .Fields}}<tr><th align="left">{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{end}}</table>
{{if .DashboardURL}}<p><a href="{{.DashboardURL}}">Open the dashboard</a></p>{{end}}
</body></html>
`))

func renderHTML(n Notification) ([]byte, error) {
	var b bytes.Buffer
	err := htmlTemplate.Execute(&b, map[string]any{
		"Summary":      summary(n.Anomaly),
		"Fields":       fields(n),
		"DashboardURL": n.DashboardURL,
	})

	return b.Bytes(), err
}
