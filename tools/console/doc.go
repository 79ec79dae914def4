// Package console holds `samsa produce` and `samsa consume`, the
// equivalents of Kafka's kafka-console-producer.sh and
// kafka-console-consumer.sh, built on franz-go's kgo client.
//
// The producer reads one record per line of the command's stdin, with
// the --property keys of Kafka's LineMessageReader (lineReader); the
// consumer prints records as Kafka's DefaultMessageFormatter does (its
// print.* properties), as a kcat-style --format string, or as one JSON
// object per line (recordPrinter). Both work against Samsa or any Kafka
// cluster; where they differ from Kafka's scripts is said in the
// README's "Producing and consuming" and in the commands' help.
package console
