#!/bin/sh
# Renders /tmp/prometheus.yml from the environment and starts Prometheus on it; with --render it
# only prints the config (the test suite feeds that to `promtool check config`).
#   PROM_SCRAPE_INTERVAL, PROM_EVAL_INTERVAL  e.g. 1s (default 1s)
#   PROM_NODES                                pub/sub nodes node1..nodeN to scrape (default 1)
#   PROM_NODE_PORT, PROM_METRICS_PATH         where the nodes serve metrics (default 8080, /metrics)
#   PROM_NODE_JOB                             the nodes' job label (default pubsub)
#   PROM_RULES                                the rule file (default /etc/hx/rules.yml, bind-mounted)
# Besides the nodes and the exporter, job client_path scrapes each node through Toxiproxy's nodeN_client
# proxy (toxiproxy:1800N), the way customers reach it: its `up` is a black-box probe of the customer
# path. Its samples are dropped (the node job has them); only `up` and the scrape's own series remain.
set -eu
scrape="${PROM_SCRAPE_INTERVAL:-1s}"
eval_every="${PROM_EVAL_INTERVAL:-1s}"
nodes="${PROM_NODES:-1}"
node_port="${PROM_NODE_PORT:-8080}"
node_job="${PROM_NODE_JOB:-pubsub}"
metrics_path="${PROM_METRICS_PATH:-/metrics}"
rules="${PROM_RULES:-/etc/hx/rules.yml}"

targets=""
client_paths=""
i=1
while [ "$i" -le "$nodes" ]; do
  targets="$targets${targets:+, }\"node$i:$node_port\""
  client_paths="$client_paths
      - {targets: [\"toxiproxy:1800$i\"], labels: {node: node$i}}"
  i=$((i + 1))
done

render() {
  cat <<YAML
global:
  scrape_interval: $scrape
  scrape_timeout: $scrape
  evaluation_interval: $eval_every
rule_files: ["$rules"]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["alertmanager:9093"]}]
scrape_configs:
  - job_name: $node_job
    metrics_path: $metrics_path
    static_configs: [{targets: [$targets]}]
  - job_name: redis
    static_configs: [{targets: ["redis-exporter:9121"]}]
  - job_name: client_path
    metrics_path: $metrics_path
    static_configs:$client_paths
    metric_relabel_configs: [{source_labels: [__name__], regex: ".+", action: drop}]
YAML
}

if [ "${1:-}" = "--render" ]; then
  render
  exit 0
fi
render > /tmp/prometheus.yml
exec prometheus --config.file=/tmp/prometheus.yml --storage.tsdb.path=/tmp/prometheus \
  --storage.tsdb.retention.time=2h --web.listen-address=:9090 "$@"
