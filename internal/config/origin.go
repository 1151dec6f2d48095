package config

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ParseOrigin returns origin in the form browsers send in the Origin
// header (RFC 6454): scheme://host[:port] with the scheme and host in lower
// case, without the default port of the scheme and without a trailing
// slash. It accepts only http and https origins, with at most one trailing
// slash and no user, path, query or fragment.
func ParseOrigin(origin string) (string, error) {
	if origin == "*" {
		return "", errors.New("a wildcard is not supported; list each origin, such as https://ops.example.com")
	}

	parsed, err := url.Parse(origin)
	if err != nil || parsed.Opaque != "" || parsed.Host == "" {
		return "", errors.New("not an origin; use scheme://host[:port], such as https://ops.example.com")
	}

	scheme := strings.ToLower(parsed.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("the scheme must be http or https")
	}

	if parsed.User != nil || (parsed.Path != "" && parsed.Path != "/") || parsed.RawQuery != "" || parsed.ForceQuery || parsed.Fragment != "" || strings.HasSuffix(origin, "#") {
		return "", errors.New("an origin has no user, path, query or fragment; use scheme://host[:port]")
	}

	host := strings.ToLower(parsed.Hostname())
	if host == "" {
		return "", errors.New("the host is missing; use scheme://host[:port]")
	}

	port := parsed.Port()
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return "", errors.New("the port must be a number from 1 to 65535")
		}

		port = strconv.FormatUint(n, 10)
	}

	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}

	if port != "" {
		return scheme + "://" + net.JoinHostPort(host, port), nil
	}

	if strings.Contains(host, ":") {
		return scheme + "://[" + host + "]", nil
	}

	return scheme + "://" + host, nil
}

// normalizeOrigins returns origins as ParseOrigin returns them, keeping any
// entry it rejects unchanged for Validate to report.
func normalizeOrigins(origins []string) []string {
	var normalized []string
	for _, origin := range origins {
		if parsed, err := ParseOrigin(origin); err == nil {
			origin = parsed
		}
		normalized = append(normalized, origin)
	}

	return normalized
}
