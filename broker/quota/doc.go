// Package quota holds Kafka's client quotas: what each client may use
// (resolved from the quota configs stored under /config/users and
// /config/clients with Kafka's precedence), what it used (rates sampled
// over quota.window.num windows of quota.window.size.seconds), and how
// long a client over its quota is throttled.
//
// It follows Kafka's ClientQuotaManager:
//
//   - A quota is looked up per quota key (producer_byte_rate,
//     consumer_byte_rate, request_percentage, controller_mutation_rate)
//     at eight levels, most specific first: users/<user>/clients/<client>,
//     users/<user>/clients/<default>, users/<user>,
//     users/<default>/clients/<client>, users/<default>/clients/<default>,
//     users/<default>, clients/<client>, clients/<default>. The first
//     level holding the key gives the bound.
//   - The level found decides which clients share one measured rate: a
//     quota on users/alice is shared by every client ID of alice; one on
//     clients/<default> is measured per client ID; one on
//     users/<default>/clients/<default> per user and client ID pair
//     (Kafka's metric tags).
//   - A client without any quota is not measured at all.
//   - The throttle time of a client over its bound is
//     (observed - bound) / bound × the rate's window, so that, had it
//     waited that long, its rate would have been the bound.
//   - controller_mutation_rate is measured with Kafka's token bucket
//     instead (KIP-599, mutations.go).
//   - ConnectionRates holds the connection creation rates (KIP-612):
//     max.connection.creation.rate and the ips/<ip> quotas; package wire
//     applies what it decides.
//
// Ownership: a Manager's quota table is replaced whole by Reload (the
// broker calls it when the store reports a config change); its rates are
// guarded by its mutex. Callers pass the clock, so tests drive time.
package quota
