// Run by compat-tests/clients_txn_kafkajs_test.go and
// clients_txn_read_committed_test.go:
//
//	node txn.js produce BROKER < input.json
//	node txn.js consume BROKER GROUP < input.json
//
// produce: reads {topic, transactionalId, transactions: [{commit, records,
// offsets}], group, sourceTopic} as JSON on stdin (bytes as base64, null as
// null) and runs each transaction with one kafkajs transactional producer:
// producer.transaction(), the records in two send()s (so one transaction
// spans several produce requests), then, if the step has offsets,
// transaction.sendOffsets() committing them for group on sourceTopic, then
// commit() or abort(). It prints {produced} — where each record was
// acknowledged — as JSON on stdout.
//
// consume: reads {topic, partitions, endValue} and consumes topic from the
// beginning with a kafkajs consumer in GROUP at kafkajs's default
// isolation (readUncommitted: false, that is read_committed) until every
// partition has given a record whose value is endValue, and prints {consumed}:
// the records before those, in the order read.
//
// Set SAMSA_COMPAT_CLIENT_DEBUG=1 for kafkajs's debug log on stderr.
'use strict'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const { Kafka, logLevel } = require('kafkajs')

const [mode, broker, groupId] = process.argv.slice(2)
if (!broker || (mode !== 'produce' && mode !== 'consume') || (mode === 'consume' && !groupId)) {
  console.error('usage: node txn.js produce HOST:PORT < input.json | node txn.js consume HOST:PORT GROUP < input.json')
  process.exit(2)
}

const fromB64 = (s) => (s === null ? null : Buffer.from(s, 'base64'))
const toB64 = (b) => (b === null || b === undefined ? null : Buffer.from(b).toString('base64'))

async function readStdin () {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

function newKafka () {
  return new Kafka({
    clientId: 'samsa-compat-kafkajs',
    brokers: [broker],
    connectionTimeout: 5000,
    requestTimeout: 10000,
    retry: { retries: 5, initialRetryTime: 100 },
    logLevel: process.env.SAMSA_COMPAT_CLIENT_DEBUG === '1' ? logLevel.DEBUG : logLevel.WARN,
    // kafkajs logs to stdout by default; stdout carries the report.
    logCreator: () => ({ namespace, level, label, log }) => {
      console.error(JSON.stringify({ level: label, namespace, ...log }))
    }
  })
}

async function produce (input) {
  const { topic, transactionalId, transactions, group, sourceTopic } = input
  // kafkajs requires idempotence, and with it one request in flight, for a
  // transactional producer.
  const producer = newKafka().producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false
  })
  await producer.connect()
  const produced = []
  try {
    for (const step of transactions) {
      const txn = await producer.transaction()
      const msgs = step.records.map((r) => {
        const headers = {}
        for (const h of r.headers || []) headers[h.key] = fromB64(h.value)
        return { partition: r.partition, key: fromB64(r.key), value: fromB64(r.value), headers, timestamp: String(r.timestamp) }
      })
      const half = Math.floor(msgs.length / 2)
      for (const part of [msgs.slice(0, half), msgs.slice(half)]) {
        // kafkajs acknowledges per partition with the base offset of what
        // it sent there, in order; each record's offset follows from that.
        const acks = await txn.send({ topic, acks: -1, timeout: 10000, messages: part })
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
          produced.push({ partition: m.partition, offset: Number(base[m.partition] + rank) })
        }
      }
      if (step.offsets) {
        await txn.sendOffsets({
          consumerGroupId: group,
          topics: [{
            topic: sourceTopic,
            partitions: Object.entries(step.offsets).map(([p, o]) => ({ partition: Number(p), offset: String(o) }))
          }]
        })
      }
      if (step.commit) {
        await txn.commit()
      } else {
        await txn.abort()
      }
    }
  } finally {
    await producer.disconnect()
  }
  return { produced }
}

async function consume (input) {
  const { topic, partitions, endValue } = input
  const consumer = newKafka().consumer({ groupId, maxWaitTimeInMs: 250, sessionTimeout: 20000, rebalanceTimeout: 15000 })
  const consumed = []
  const ended = new Set()
  let done
  const finished = new Promise((resolve, reject) => {
    done = resolve
    consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error))
  })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (ended.has(partition)) return
        if (message.value !== null && message.value.toString('utf8') === endValue) {
          ended.add(partition)
          if (ended.size === partitions) done()
          return
        }
        const headers = []
        for (const [key, value] of Object.entries(message.headers || {})) headers.push({ key, value: toB64(value) })
        consumed.push({
          partition,
          offset: Number(message.offset),
          key: toB64(message.key),
          value: toB64(message.value),
          headers,
          timestamp: Number(message.timestamp)
        })
      }
    })
    await finished
  } finally {
    await consumer.disconnect()
  }
  return { consumed }
}

async function main () {
  const input = await readStdin()
  const out = mode === 'produce' ? await produce(input) : await consume(input)
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
})
