// Package tlsconf turns a listener's Kafka ssl.* settings (config.SSL)
// into TLS: the server side of SSL and SASL_SSL listeners, the principal
// a client certificate authenticates (ssl.principal.mapping.rules), and
// the client side the broker uses to dial its peers.
//
// Key stores are PEM (in the config, ssl.keystore.certificate.chain and
// ssl.keystore.key, or a file) or PKCS12 files; Kafka's default type,
// JKS, is refused with a message saying how to convert it. Trust stores
// likewise.
//
// Ownership: a Listener owns the TLS setup of one listener. It is safe
// for concurrent use: handshakes read the current setup through an atomic
// pointer; a reload (a file changed, or Update with new settings from
// AlterConfigs) builds a new setup and swaps it in, so connections
// already open keep their certificate and new ones get the new one, as
// in Kafka.
package tlsconf
