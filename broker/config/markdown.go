package config

import (
	"strings"
)

// MarkdownTable renders the supported broker keys and topic configs as
// the Markdown tables of the README's configuration section, so the
// README cannot drift from this package (TestREADMEConfigTable).
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Dynamic | Description |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	for _, k := range BrokerKeys() {
		def := "(none)"
		if k.Default != nil {
			switch *k.Default {
			case *maxLong:
				def = "`Long.MAX_VALUE`"
			case "":
				def = `""`
			default:
				def = "`" + *k.Default + "`"
			}
		}
		dyn := ""
		if k.Dynamic {
			dyn = "yes"
		}
		b.WriteString("| `" + k.Name + "` | " + TypeName(k.Type) + " | " + def + " | " + dyn + " | " + cell(k.Doc) + " |\n")
	}
	b.WriteString("\nTopic configs (CreateTopics, AlterConfigs, IncrementalAlterConfigs) default to the broker key they name:\n\n")
	b.WriteString("| Topic config | Type | Broker default from | Description |\n")
	b.WriteString("| --- | --- | --- | --- |\n")
	for _, k := range TopicKeys() {
		from := make([]string, len(k.Synonyms))
		for i, s := range k.Synonyms {
			from[i] = "`" + s + "`"
		}
		b.WriteString("| `" + k.Name + "` | " + TypeName(k.Type) + " | " + strings.Join(from, ", ") + " | " + cell(k.Doc) + " |\n")
	}
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
