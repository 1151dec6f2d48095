package handlers

import (
	"net/netip"
	"strings"
)

// isLoopbackHost reports whether host, the value of a request's Host
// header, names a loopback host. Loopback names are localhost in any case,
// with or without a trailing dot, an IPv4 address in 127.0.0.0/8, and an
// IPv6 loopback address in brackets. Each may carry a numeric port.
//
// A page in a browser can reach a server on 127.0.0.1 through a DNS name
// that resolves to it (DNS rebinding), but the browser then sends that
// name in Host. Serving requests without a key only for loopback names
// keeps such pages out. It does not allocate for a loopback name, because
// it runs on every request served without a key.
func isLoopbackHost(host string) bool {
	name, port := host, ""
	bracketed := strings.HasPrefix(host, "[")
	if bracketed {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}

		name, port = host[1:end], host[end+1:]
	} else if colon := strings.LastIndexByte(host, ':'); colon >= 0 {
		name, port = host[:colon], host[colon:]
	}

	if !validPort(port) {
		return false
	}

	if !bracketed && (strings.EqualFold(name, "localhost") || strings.EqualFold(name, "localhost.")) {
		return true
	}

	// netip.ParseAddr takes only the dotted-decimal form of IPv4, so the
	// forms "127.1" and "2130706433" are not loopback names here.
	ip, err := netip.ParseAddr(name)
	if err != nil || ip.Zone() != "" || ip.Is6() != bracketed {
		return false
	}

	return ip.Unmap().IsLoopback()
}

// validPort reports whether port is empty or a colon followed by at most
// five digits.
func validPort(port string) bool {
	if port == "" {
		return true
	}

	digits := port[1:]
	if port[0] != ':' || digits == "" || len(digits) > 5 {
		return false
	}

	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}

	return true
}
