// Package notify sends anomalies to people over the channels of a YAML
// file: Slack incoming webhooks and email over SMTP. The notifier projector
// records one pending delivery per anomaly and channel. The Deliverer here
// sends those rows, retrying with backoff, and marks them sent or failed.
package notify

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/eventpulse/eventpulse/events"
)

// ConfigEnv names the environment variable holding the path of the
// channels file.
const ConfigEnv = "EVENTPULSE_NOTIFY_CONFIG"

// Defaults of the delivery section.
const (
	MaxAttemptsDefault    = 8
	InitialBackoffDefault = time.Second
	MaxBackoffDefault     = 5 * time.Minute
	PollIntervalDefault   = 250 * time.Millisecond
	SendTimeoutDefault    = 10 * time.Second
	LeaseDefault          = time.Minute
)

// Channel types.
const (
	TypeSlack = "slack"
	TypeEmail = "email"
)

// STARTTLS modes of an email channel.
const (
	StartTLSRequired      = "required"
	StartTLSOpportunistic = "opportunistic"
	StartTLSDisabled      = "disabled"
)

// Config is the content of the channels file.
type Config struct {
	// DashboardURL is linked from every message. Default: none.
	DashboardURL string `yaml:"dashboard_url"`
	// Delivery tunes retries for every channel.
	Delivery DeliveryConfig `yaml:"delivery"`
	// Channels are the destinations; names must be unique.
	Channels []ChannelConfig `yaml:"channels"`
}

// DeliveryConfig tunes the delivery loop.
type DeliveryConfig struct {
	// MaxAttempts is how many sends are tried before a delivery is marked
	// failed. Default: MaxAttemptsDefault.
	MaxAttempts int `yaml:"max_attempts"`
	// InitialBackoff is the wait after the first failure; each further
	// failure doubles it, up to MaxBackoff, and a random jitter takes up to
	// half of it off. Default: InitialBackoffDefault.
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	// MaxBackoff caps the wait between attempts, including a Retry-After.
	// Default: MaxBackoffDefault.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// PollInterval is how often each channel looks for due deliveries.
	// Default: PollIntervalDefault.
	PollInterval time.Duration `yaml:"poll_interval"`
	// SendTimeout bounds one send. Default: SendTimeoutDefault.
	SendTimeout time.Duration `yaml:"send_timeout"`
	// Lease is how long a claimed delivery stays invisible to other delivery
	// loops; a loop that dies mid-send leaves the row to be claimed again
	// after it. It must exceed SendTimeout. Default: LeaseDefault.
	Lease time.Duration `yaml:"lease"`
}

// ChannelConfig is one destination with its filters.
type ChannelConfig struct {
	// Name identifies the channel in the deliveries table; renaming it makes
	// a new channel.
	Name string `yaml:"name"`
	// Type is slack or email.
	Type string `yaml:"type"`
	// Severities keeps only anomalies of these severities (critical,
	// warning, info); empty keeps all.
	Severities []string `yaml:"severities"`
	// RuleIDs keeps only anomalies of these rules; empty keeps all.
	RuleIDs []uuid.UUID `yaml:"rule_ids"`
	// WebhookURL is the Slack incoming webhook (a secret).
	WebhookURL string `yaml:"webhook_url"`
	// SMTP and the addresses below configure an email channel.
	SMTP SMTPConfig `yaml:"smtp"`
	From string     `yaml:"from"`
	To   []string   `yaml:"to"`
}

// SMTPConfig locates the mail server of an email channel.
type SMTPConfig struct {
	Host string `yaml:"host"`
	// Port defaults to 587.
	Port int `yaml:"port"`
	// Username and Password enable AUTH PLAIN; both empty sends without
	// authentication. The password is a secret.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// StartTLS is required (the default), opportunistic or disabled.
	// Credentials are only ever sent over TLS or to a loopback server.
	StartTLS string `yaml:"starttls"`
	// CAFile is a PEM file of extra root certificates, for a server with
	// a private CA. Default: the system roots.
	CAFile string `yaml:"ca_file"`
	// HelloName is sent in EHLO. Default: localhost.
	HelloName string `yaml:"hello_name"`
}

// Matches reports whether the channel wants an anomaly of this rule and
// severity.
func (c ChannelConfig) Matches(ruleID uuid.UUID, severity string) bool {
	if len(c.Severities) > 0 && !slices.Contains(c.Severities, severity) {
		return false
	}

	return len(c.RuleIDs) == 0 || slices.Contains(c.RuleIDs, ruleID)
}

// LoadConfig reads the channels file at path. An empty path returns a
// configuration without channels.
func LoadConfig(path string) (Config, error) {
	if path == "" {
		return Config{}.WithDefaults(), nil
	}

	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("error reading notification config: %w", err)
	}

	config, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("error in notification config %s: %w", path, err)
	}

	return config, nil
}

// ParseConfig parses a channels file, replacing ${NAME} in every string
// value with the environment variable NAME, applies the defaults and
// validates the result. Unknown keys are errors.
func ParseConfig(data []byte) (Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, err
	}

	if root.Kind == 0 {
		config := Config{}.WithDefaults()
		return config, config.Validate()
	}

	if err := unknownKeys(data); err != nil {
		return Config{}, err
	}

	if err := expandEnv(&root); err != nil {
		return Config{}, err
	}

	// Decoding the node keeps the line numbers of the file in errors.
	var config Config
	if err := root.Decode(&config); err != nil {
		return Config{}, hideValues(err)
	}

	config = config.WithDefaults()

	return config, config.Validate()
}

// unknownKeys returns the keys of data that Config does not have, with
// their lines. Type errors are left to the decoding after ${NAME}
// expansion, because "${SMTP_PORT}" is not yet a number here.
func unknownKeys(data []byte) error {
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	decoder.KnownFields(true)

	var typeErr *yaml.TypeError
	if err := decoder.Decode(&Config{}); !errors.As(err, &typeErr) {
		return nil
	}

	var errs []error
	for _, message := range typeErr.Errors {
		if strings.Contains(message, " not found in type ") {
			errs = append(errs, errors.New(message))
		}
	}

	return errors.Join(errs...)
}

// quotedValue matches the values yaml.v3 quotes in its type errors, such
// as "cannot unmarshal !!str `secret` into int".
var quotedValue = regexp.MustCompile("`[^`]*`")

// hideValues removes the quoted values from a decoding error, because an
// expanded value may be a secret placed under the wrong key.
func hideValues(err error) error {
	return errors.New(quotedValue.ReplaceAllString(err.Error(), "(value hidden)"))
}

var envReference = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${NAME} in the scalar values under node. A variable
// that is not set is an error naming it and its line; values are never
// part of an error, because they may be secrets.
func expandEnv(node *yaml.Node) error {
	var errs []error

	if node.Kind == yaml.ScalarNode && node.Tag != "!!null" {
		node.Value = envReference.ReplaceAllStringFunc(node.Value, func(reference string) string {
			name := envReference.FindStringSubmatch(reference)[1]
			value, ok := os.LookupEnv(name)
			if !ok {
				errs = append(errs, fmt.Errorf("line %d: environment variable %s is not set", node.Line, name))
			}

			return value
		})
	}

	for _, child := range node.Content {
		errs = append(errs, expandEnv(child))
	}

	return errors.Join(errs...)
}

// WithDefaults returns c with every zero delivery setting and SMTP port set
// to its default.
func (c Config) WithDefaults() Config {
	d := &c.Delivery
	d.MaxAttempts = cmp.Or(d.MaxAttempts, MaxAttemptsDefault)
	d.InitialBackoff = cmp.Or(d.InitialBackoff, InitialBackoffDefault)
	d.MaxBackoff = cmp.Or(d.MaxBackoff, MaxBackoffDefault)
	d.PollInterval = cmp.Or(d.PollInterval, PollIntervalDefault)
	d.SendTimeout = cmp.Or(d.SendTimeout, SendTimeoutDefault)
	d.Lease = cmp.Or(d.Lease, LeaseDefault)

	channels := slices.Clone(c.Channels)
	for i := range channels {
		channels[i].SMTP.Port = cmp.Or(channels[i].SMTP.Port, 587)
		channels[i].SMTP.StartTLS = cmp.Or(channels[i].SMTP.StartTLS, StartTLSRequired)
		channels[i].SMTP.HelloName = cmp.Or(channels[i].SMTP.HelloName, "localhost")
	}
	c.Channels = channels

	return c
}

// dashboardURLMaxBytes bounds dashboard_url, so that the Slack section
// that links it stays within Slack's 3,000 characters.
const dashboardURLMaxBytes = 2048

// Validate returns every problem of c joined in one error.
func (c Config) Validate() error {
	var errs []error

	if c.DashboardURL != "" {
		if u, err := url.Parse(c.DashboardURL); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("dashboard_url %q: must be an absolute URL", c.DashboardURL))
		}

		// Slack links are <url|text>, and the link's section has a limit of
		// 3,000 characters, so these would make Slack reject every message.
		if strings.ContainsAny(c.DashboardURL, "<>|") {
			errs = append(errs, fmt.Errorf("dashboard_url %q: must not contain <, > or |; percent-encode them", c.DashboardURL))
		}
		if len(c.DashboardURL) > dashboardURLMaxBytes {
			errs = append(errs, fmt.Errorf("dashboard_url: is %d bytes long, more than the %d that fit in a Slack message",
				len(c.DashboardURL), dashboardURLMaxBytes))
		}
	}

	if c.Delivery.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("delivery.max_attempts %d: must be at least 1", c.Delivery.MaxAttempts))
	}
	if c.Delivery.Lease <= c.Delivery.SendTimeout {
		errs = append(errs, fmt.Errorf("delivery.lease %s: must exceed delivery.send_timeout %s",
			c.Delivery.Lease, c.Delivery.SendTimeout))
	}

	seen := map[string]bool{}
	for i, channel := range c.Channels {
		if seen[channel.Name] {
			errs = append(errs, fmt.Errorf("channels[%d].name %q: used twice", i, channel.Name))
		}
		seen[channel.Name] = true
		errs = append(errs, channel.validate(i))
	}

	return errors.Join(errs...)
}

func (c ChannelConfig) validate(i int) error {
	var errs []error
	field := func(name, reason string) {
		errs = append(errs, fmt.Errorf("channels[%d].%s: %s", i, name, reason))
	}

	if c.Name == "" {
		field("name", "missing")
	}

	// Matches compares severities exactly, so an unknown one, such as
	// high, would silently match no anomaly.
	for j, severity := range c.Severities {
		if !slices.Contains(events.Severities(), severity) {
			errs = append(errs, fmt.Errorf("channels[%d].severities[%d] of channel %q: %q is not one of %s",
				i, j, c.Name, severity, strings.Join(events.Severities(), ", ")))
		}
	}

	switch c.Type {
	case TypeSlack:
		if u, err := url.Parse(c.WebhookURL); err != nil || u.Host == "" ||
			(u.Scheme != "https" && u.Scheme != "http") {
			// The URL is a secret, so the message leaves it out.
			field("webhook_url", "must be an http or https URL")
		}
	case TypeEmail:
		if c.SMTP.Host == "" {
			field("smtp.host", "missing")
		}
		if !slices.Contains([]string{StartTLSRequired, StartTLSOpportunistic, StartTLSDisabled}, c.SMTP.StartTLS) {
			field("smtp.starttls", fmt.Sprintf("%q is not one of required, opportunistic, disabled", c.SMTP.StartTLS))
		}
		if c.From == "" {
			field("from", "missing")
		}
		if len(c.To) == 0 {
			field("to", "needs at least one address")
		}
	default:
		field("type", fmt.Sprintf("%q is not one of slack, email", c.Type))
	}

	return errors.Join(errs...)
}
