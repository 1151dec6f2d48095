package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestParseConfigExample(t *testing.T) {
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.example.com/services/T/B/secret")
	t.Setenv("SMTP_USERNAME", "alerts")
	t.Setenv("SMTP_PASSWORD", "pa$$ word: #1")

	config, err := LoadConfig(filepath.Join("..", "..", "examples", "notify.yaml"))
	require.NoError(t, err)

	require.Equal(t, "https://eventpulse.example.com/dashboard", config.DashboardURL)
	require.Equal(t, 8, config.Delivery.MaxAttempts)
	require.Equal(t, time.Second, config.Delivery.InitialBackoff)
	require.Equal(t, 5*time.Minute, config.Delivery.MaxBackoff)
	require.Len(t, config.Channels, 2)

	slack := config.Channels[0]
	require.Equal(t, "ops-slack", slack.Name)
	require.Equal(t, "https://hooks.example.com/services/T/B/secret", slack.WebhookURL)
	require.Equal(t, []string{"critical", "warning"}, slack.Severities)

	email := config.Channels[1]
	require.Equal(t, "alerts", email.SMTP.Username)
	require.Equal(t, "pa$$ word: #1", email.SMTP.Password, "a value with YAML syntax stays one string")
	require.Equal(t, StartTLSRequired, email.SMTP.StartTLS)
	require.Equal(t, 587, email.SMTP.Port)
	require.Equal(t, []string{"oncall@example.com"}, email.To)
}

func TestParseConfigMissingVariable(t *testing.T) {
	t.Parallel()

	_, err := ParseConfig([]byte("channels:\n  - name: a\n    type: slack\n    webhook_url: ${NOTIFY_TEST_UNSET_VARIABLE}\n"))

	require.ErrorContains(t, err, "line 4: environment variable NOTIFY_TEST_UNSET_VARIABLE is not set")
}

func TestParseConfigRejects(t *testing.T) {
	t.Parallel()

	cases := map[string]struct {
		yaml string
		want string
	}{
		"unknown key": {
			yaml: "channels:\n  - name: a\n    type: slack\n    webhook: https://x.example\n",
			want: "field webhook not found",
		},
		"unknown type": {
			yaml: "channels:\n  - name: a\n    type: pager\n",
			want: `channels[0].type: "pager" is not one of slack, email`,
		},
		"duplicate name": {
			yaml: "channels:\n  - {name: a, type: slack, webhook_url: 'https://x.example/1'}\n" +
				"  - {name: a, type: slack, webhook_url: 'https://x.example/2'}\n",
			want: `channels[1].name "a": used twice`,
		},
		"bad webhook": {
			yaml: "channels:\n  - {name: a, type: slack, webhook_url: 'not a url'}\n",
			want: "channels[0].webhook_url: must be an http or https URL",
		},
		"email without recipients": {
			yaml: "channels:\n  - {name: m, type: email, from: a@example.com, smtp: {host: mail.example.com}}\n",
			want: "channels[0].to: needs at least one address",
		},
		"bad starttls": {
			yaml: "channels:\n  - {name: m, type: email, from: a@b.c, to: [d@e.f], smtp: {host: h, starttls: maybe}}\n",
			want: `channels[0].smtp.starttls: "maybe" is not one of required, opportunistic, disabled`,
		},
		"lease shorter than timeout": {
			yaml: "delivery: {lease: 5s, send_timeout: 10s}\n",
			want: "delivery.lease 5s: must exceed delivery.send_timeout 10s",
		},
		"unknown severity": {
			yaml: "channels:\n  - {name: ops, type: slack, webhook_url: 'https://x.example', severities: [critical, high]}\n",
			want: `channels[0].severities[1] of channel "ops": "high" is not one of critical, warning, info`,
		},
		"severity in capitals": {
			yaml: "channels:\n  - {name: a, type: slack, webhook_url: 'https://x.example/1'}\n" +
				"  - {name: b, type: slack, webhook_url: 'https://x.example/2', severities: [Critical]}\n",
			want: `channels[1].severities[0] of channel "b": "Critical" is not one of critical, warning, info`,
		},
		"dashboard url with a bar": {
			yaml: "dashboard_url: 'https://x.example/a|b'\n",
			want: `dashboard_url "https://x.example/a|b": must not contain <, > or |; percent-encode them`,
		},
		"dashboard url too long": {
			yaml: "dashboard_url: 'https://x.example/" + strings.Repeat("a", 2031) + "'\n",
			want: "dashboard_url: is 2049 bytes long, more than the 2048 that fit in a Slack message",
		},
		"bad rule id": {
			yaml: "channels:\n  - {name: a, type: slack, webhook_url: 'https://x.example', rule_ids: [nope]}\n",
			want: "invalid UUID",
		},
	}

	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			_, err := ParseConfig([]byte(c.yaml))
			require.ErrorContains(t, err, c.want)
		})
	}
}

func TestParseConfigSecretNotInErrors(t *testing.T) {
	t.Setenv("NOTIFY_TEST_SECRET_URL", "ftp://hooks.example.com/very-secret")

	_, err := ParseConfig([]byte("channels:\n  - {name: a, type: slack, webhook_url: '${NOTIFY_TEST_SECRET_URL}'}\n"))

	require.Error(t, err)
	require.NotContains(t, err.Error(), "very-secret")
}

func TestParseConfigEmpty(t *testing.T) {
	t.Parallel()

	config, err := ParseConfig(nil)
	require.NoError(t, err)
	require.Empty(t, config.Channels)
	require.Equal(t, MaxAttemptsDefault, config.Delivery.MaxAttempts)

	config, err = LoadConfig("")
	require.NoError(t, err)
	require.Empty(t, config.Channels)
}

func TestLoadConfigMissingFile(t *testing.T) {
	t.Parallel()

	_, err := LoadConfig(filepath.Join(t.TempDir(), "absent.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestChannelMatches(t *testing.T) {
	t.Parallel()

	rule := uuid.New()
	channel := ChannelConfig{Severities: []string{"critical"}, RuleIDs: []uuid.UUID{rule}}

	require.True(t, channel.Matches(rule, "critical"))
	require.False(t, channel.Matches(rule, "warning"))
	require.False(t, channel.Matches(uuid.New(), "critical"))
	require.True(t, ChannelConfig{}.Matches(uuid.New(), "info"))
}

func TestParseConfigHidesValuesInTypeErrors(t *testing.T) {
	t.Setenv("NOTIFY_TEST_MISPLACED_SECRET", "hunter2")

	_, err := ParseConfig([]byte("channels:\n  - name: m\n    type: email\n    smtp:\n" +
		"      host: mail.example.com\n      port: ${NOTIFY_TEST_MISPLACED_SECRET}\n"))

	require.ErrorContains(t, err, "line 6: cannot unmarshal !!str (value hidden) into int")
	require.NotContains(t, err.Error(), "hunter2")
}
