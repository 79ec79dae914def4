package broker

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/sasl/saslclient"
	"github.com/samsa-io/samsa/wire"
)

// interBrokerDial wraps dial so that, when the listener brokers reach
// each other on (inter.broker.listener.name) is a SASL one, every
// connection to another broker logs in first, as Kafka's brokers do:
// with sasl.mechanism.inter.broker.protocol and the username and
// password of that listener's JAAS line for the mechanism.
//
// Kafka refuses to start when the mechanism is not usable; Samsa starts
// (a single broker never dials another) and fails each dial with the
// reason, which the replica fetchers log.
func interBrokerDial(cfg *config.Broker, dial wire.DialFunc) wire.DialFunc {
	l := cfg.InterBrokerListener()
	if !strings.HasPrefix(l.SecurityProtocol, "SASL_") {
		return dial
	}
	listener := l.Name
	creds, err := interBrokerCredentials(cfg, listener)
	if err != nil {
		return func(context.Context, string) (net.Conn, error) { return nil, err }
	}
	return saslclient.Dialer(dial, creds)
}

func interBrokerCredentials(cfg *config.Broker, listener string) (saslclient.Credentials, error) {
	mech := cfg.SASL.InterBrokerMechanism
	l := cfg.SASL.Listeners[listener]
	enabled := false
	for _, m := range l.Mechanisms {
		enabled = enabled || m == mech
	}
	if !enabled {
		return saslclient.Credentials{}, fmt.Errorf("inter-broker listener %s does not enable sasl.mechanism.inter.broker.protocol %s (it enables %v)", listener, mech, l.Mechanisms)
	}
	opts := l.JAAS[mech].Options
	if opts["username"] == "" || opts["password"] == "" {
		return saslclient.Credentials{}, fmt.Errorf("inter-broker login: listener.name.%s.%s.sasl.jaas.config has no username and password",
			strings.ToLower(listener), strings.ToLower(mech))
	}
	return saslclient.Credentials{Mechanism: mech, User: opts["username"], Password: opts["password"]}, nil
}
