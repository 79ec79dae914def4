// Run by compat-tests/clients_kafkajs_test.go: node roundtrip.js BROKER
//
// Reads {topic, partitions, records} as JSON on stdin (bytes as base64, null
// as null), creates the topic with the kafkajs admin client, lists it in
// metadata, produces the records with an idempotent acks=all producer, lists
// the end offsets, and prints what kafkajs saw as JSON on stdout for the Go
// test to judge. kafkajs can only consume in a consumer group, which Samsa
// does not serve yet, so the Go test reads the records back with franz-go.
//
// Set SAMSA_COMPAT_CLIENT_DEBUG=1 for kafkajs's debug log on stderr.
'use strict'

// The partitions are explicit here, so kafkajs's note on its v2 default
// partitioner is noise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const { Kafka, logLevel } = require('kafkajs')

const broker = process.argv[2]
if (!broker) {
  console.error('usage: node roundtrip.js HOST:PORT < input.json')
  process.exit(2)
}

const fromB64 = (s) => (s === null ? null : Buffer.from(s, 'base64'))

async function readStdin () {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

async function main () {
  const input = await readStdin()
  const { topic, partitions } = input
  const kafka = new Kafka({
    clientId: 'samsa-compat-kafkajs',
    brokers: [broker],
    connectionTimeout: 5000,
    requestTimeout: 10000,
    retry: { retries: 3, initialRetryTime: 100 },
    logLevel: process.env.SAMSA_COMPAT_CLIENT_DEBUG === '1' ? logLevel.DEBUG : logLevel.WARN,
    // kafkajs logs to stdout by default; stdout carries the report.
    logCreator: () => ({ namespace, level, label, log }) => {
      console.error(JSON.stringify({ level: label, namespace, ...log }))
    }
  })
  const out = {}

  const admin = kafka.admin()
  await admin.connect()
  try {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
      timeout: 10000
    })
    if (!created) throw new Error(`createTopics(${topic}) says the topic already existed`)

    out.topics = await admin.listTopics()
    const md = await admin.fetchTopicMetadata({ topics: [topic] })
    const tm = md.topics.find((t) => t.name === topic)
    out.partitions = tm ? tm.partitions.length : 0
    for (const p of tm ? tm.partitions : []) {
      if (p.partitionErrorCode !== 0 || p.leader < 0) {
        throw new Error(`fetchTopicMetadata: ${topic}/${p.partitionId} has error ${p.partitionErrorCode}, leader ${p.leader}`)
      }
    }

    // Idempotent (InitProducerId, sequence numbers), which kafkajs allows
    // only with acks=all and one request in flight.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
    await producer.connect()
    try {
      const msgs = input.records.map((r) => {
        const headers = {}
        for (const h of r.headers || []) headers[h.key] = fromB64(h.value)
        return {
          partition: r.partition,
          key: fromB64(r.key),
          value: fromB64(r.value),
          headers,
          timestamp: String(r.timestamp)
        }
      })
      // Two sends, so sequence numbers must carry on across requests.
      // kafkajs acknowledges per partition with the base offset of what
      // it sent there, in order; each record's offset follows from that.
      out.produced = []
      const half = Math.floor(msgs.length / 2)
      for (const part of [msgs.slice(0, half), msgs.slice(half)]) {
        const acks = await producer.send({ topic, acks: -1, timeout: 10000, messages: part })
        const base = {}
        for (const a of acks) {
          if (a.errorCode !== 0) throw new Error(`produce to ${topic}/${a.partition}: error ${a.errorCode}`)
          base[a.partition] = BigInt(a.baseOffset)
        }
        const next = {}
        for (const m of part) {
          if (base[m.partition] === undefined) throw new Error(`no acknowledgement for partition ${m.partition}`)
          const rank = next[m.partition] || 0n
          next[m.partition] = rank + 1n
          out.produced.push({ partition: m.partition, offset: Number(base[m.partition] + rank) })
        }
      }
    } finally {
      await producer.disconnect()
    }

    out.endOffsets = {}
    for (const o of await admin.fetchTopicOffsets(topic)) {
      out.endOffsets[String(o.partition)] = Number(o.high)
      if (o.offset !== o.high) throw new Error(`fetchTopicOffsets: offset ${o.offset} differs from high ${o.high}`)
    }
  } finally {
    await admin.disconnect()
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
})
