// Run by compat-tests/groups_clients_test.go:
//
//	node group.js BROKER TOPIC GROUP MEMBERS
//
// Starts MEMBERS kafkajs consumers in consumer group GROUP, subscribed to
// TOPIC from the beginning, with kafkajs's defaults otherwise (round-robin
// assignment, offsets committed after each batch). Every message a member
// processes is printed on stdout as one JSON line
// {"member", "partition", "offset", "value"} (value as UTF-8, null for a null
// value). When stdin closes, every consumer disconnects (committing and
// leaving the group) and the script exits 0.
//
// Set SAMSA_COMPAT_CLIENT_DEBUG=1 for kafkajs's debug log on stderr.
'use strict'

const { Kafka, logLevel } = require('kafkajs')

const [broker, topic, groupId, members] = process.argv.slice(2)
if (!broker || !topic || !groupId || !members) {
  console.error('usage: node group.js HOST:PORT TOPIC GROUP MEMBERS')
  process.exit(2)
}

async function main () {
  const kafka = new Kafka({
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

  const consumers = []
  for (let i = 0; i < Number(members); i++) {
    // A long session timeout: only a LeaveGroup can empty the group
    // quickly once the consumers disconnect.
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: 20000,
      rebalanceTimeout: 15000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 250
    })
    // A consumer that crashes stops for good: fail at once, loudly.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      console.error(`consumer ${i} crashed: ${payload.error && payload.error.stack}`)
      process.exit(1)
    })
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        process.stdout.write(JSON.stringify({
          member: i,
          partition,
          offset: Number(message.offset),
          value: message.value === null ? null : message.value.toString('utf8')
        }) + '\n')
      }
    })
    consumers.push(consumer)
  }

  // Run until the Go test closes stdin.
  await new Promise((resolve) => {
    process.stdin.on('end', resolve)
    process.stdin.resume()
  })
  for (const consumer of consumers) await consumer.disconnect()
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
})
