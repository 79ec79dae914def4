package groups

// Reset plans as CSV, as kafka-consumer-groups.sh --export writes them and
// --from-file reads them: "topic,partition,offset" lines for one group,
// "group,topic,partition,offset" lines when the plan covers several.

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// writeResetPlan writes plan as CSV; with more than one group in it, each
// line starts with its group.
func writeResetPlan(w io.Writer, plan []newOffset) error {
	groups := map[string]bool{}
	for _, o := range plan {
		groups[o.Group] = true
	}
	out := csv.NewWriter(w)
	for _, o := range plan {
		row := []string{o.Topic, strconv.Itoa(int(o.Partition)), strconv.FormatInt(o.NewOffset, 10)}
		if len(groups) > 1 {
			row = append([]string{o.Group}, row...)
		}
		if err := out.Write(row); err != nil {
			return err
		}
	}
	out.Flush()
	return out.Error()
}

// resetPlanFile is a plan read from a file: offsets by group ("" for the
// lines that name none, which apply to every group reset).
type resetPlanFile map[string]map[topicPartition]int64

// readResetPlan reads the CSV plan at path.
func readResetPlan(path string) (resetPlanFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--from-file: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	plan := resetPlanFile{}
	for line := 1; ; line++ {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("--from-file %s: %w", path, err)
		}
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue
		}
		group := ""
		switch len(row) {
		case 3:
		case 4:
			group, row = row[0], row[1:]
		default:
			return nil, fmt.Errorf("--from-file %s: line %d has %d fields; want topic,partition,offset or group,topic,partition,offset", path, line, len(row))
		}
		p, err := strconv.ParseInt(strings.TrimSpace(row[1]), 10, 32)
		if err != nil || p < 0 {
			return nil, fmt.Errorf("--from-file %s: line %d: %q is not a partition", path, line, row[1])
		}
		o, err := strconv.ParseInt(strings.TrimSpace(row[2]), 10, 64)
		if err != nil || o < 0 {
			return nil, fmt.Errorf("--from-file %s: line %d: %q is not an offset", path, line, row[2])
		}
		if plan[group] == nil {
			plan[group] = map[topicPartition]int64{}
		}
		plan[group][topicPartition{strings.TrimSpace(row[0]), int32(p)}] = o
	}
	if len(plan) == 0 {
		return nil, fmt.Errorf("--from-file %s: no offsets in it", path)
	}
	return plan, nil
}

// forGroup is the plan of one group: its own lines, else the lines that
// name no group.
func (p resetPlanFile) forGroup(group string) (map[topicPartition]int64, error) {
	if offsets, ok := p[group]; ok {
		return offsets, nil
	}
	if offsets, ok := p[""]; ok {
		return offsets, nil
	}
	return nil, fmt.Errorf("No reset plan for group %s found", group)
}
