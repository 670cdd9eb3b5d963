package main

import (
	"net"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// clientIPFunc returns the function that names the client of a request for
// the rate limiters. Fiber's c.IP() takes the leftmost X-Forwarded-For
// entry, which the client writes itself: a load balancer appends the
// address it saw, it does not replace the header. So a client could send a
// fresh made-up address with every login and never meet the limit. The
// client is instead the rightmost address not in TRUSTED_PROXIES, walking
// X-Forwarded-For from the right, and only when the peer itself is a
// trusted proxy; otherwise the peer's address.
func clientIPFunc(trusted []string) func(c *fiber.Ctx) string {
	var nets []*net.IPNet
	for _, p := range trusted {
		if ip := net.ParseIP(p); ip != nil {
			bits := 8 * len(ip.To16())
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		if _, n, err := net.ParseCIDR(p); err == nil {
			nets = append(nets, n)
		}
	}
	isTrusted := func(ip net.IP) bool {
		for _, n := range nets {
			if n.Contains(ip) {
				return true
			}
		}
		return false
	}
	return func(c *fiber.Ctx) string {
		peer := c.Context().RemoteIP()
		if len(nets) == 0 || !isTrusted(peer) {
			return peer.String()
		}
		var hops []string
		for _, v := range c.GetReqHeaders()[fiber.HeaderXForwardedFor] {
			hops = append(hops, strings.Split(v, ",")...)
		}
		client := peer
		for i := len(hops) - 1; i >= 0; i-- {
			ip := parseHop(strings.TrimSpace(hops[i]))
			if ip == nil {
				break // a trusted proxy wrote garbage: keep the last good hop
			}
			client = ip
			if !isTrusted(ip) {
				break
			}
		}
		return client.String()
	}
}

// parseHop parses one X-Forwarded-For entry: an address, or an address with
// a port ("203.0.113.7:5060", "[2001:db8::1]:443"), as some load balancers
// write it.
func parseHop(s string) net.IP {
	if ip := net.ParseIP(s); ip != nil {
		return ip
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		return net.ParseIP(host)
	}
	return nil
}
