package admin

import (
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/samsa-io/samsa/tools/cli"
)

// ClusterDoc is `cluster -o json`.
type ClusterDoc struct {
	ClusterID string `json:"cluster_id"`
	// Controller is the active controller's broker ID, -1 when there is
	// none.
	Controller int32 `json:"controller"`
	// Brokers are the live brokers, by ID.
	Brokers []BrokerDoc `json:"brokers"`
}

// BrokerDoc is one broker of a ClusterDoc.
type BrokerDoc struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
	// Rack is the broker's broker.rack, null when it has none.
	Rack *string `json:"rack"`
}

// NewClusterCommand is `samsa cluster`: the cluster ID, the controller
// and the live brokers with their addresses and racks, from Metadata.
func NewClusterCommand(env *cli.Env) *cobra.Command {
	return &cobra.Command{
		Use:   "cluster",
		Short: "Show the cluster ID, the controller and the brokers",
		Args:  cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := env.Context(cmd.Context())
			defer cancel()
			s, err := connect(ctx, env)
			if err != nil {
				return err
			}
			defer s.Close()
			m, err := s.adm.BrokerMetadata(ctx)
			if err != nil {
				return fmt.Errorf("describe the cluster: %w", err)
			}
			doc := ClusterDoc{ClusterID: m.Cluster, Controller: m.Controller, Brokers: []BrokerDoc{}}
			for _, b := range m.Brokers { // sorted by ID
				doc.Brokers = append(doc.Brokers, BrokerDoc{ID: b.NodeID, Host: b.Host, Port: b.Port, Rack: b.Rack})
			}
			if env.JSON() {
				return cli.PrintJSON(env.Stdout, doc)
			}
			controller := "none"
			if doc.Controller >= 0 {
				controller = strconv.Itoa(int(doc.Controller))
			}
			fmt.Fprintf(env.Stdout, "Cluster ID: %s\nController: %s\n\n", dash(doc.ClusterID), controller)
			t := cli.NewTable(env.Stdout, "BROKER", "ADDRESS", "RACK")
			for _, b := range doc.Brokers {
				rack := ""
				if b.Rack != nil {
					rack = *b.Rack
				}
				t.Row(b.ID, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))), dash(rack))
			}
			return t.Flush()
		},
	}
}
