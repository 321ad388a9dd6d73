/**
 * Parses `CLUSTER NODES`: one line per node,
 * `<id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slots...>`.
 */

export interface ClusterNode {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly role: 'primary' | 'replica';
  /** Node id of the primary for replicas. */
  readonly primaryId: string | undefined;
  /** Flagged `fail` or `fail?` by the cluster, or its link is disconnected. */
  readonly failing: boolean;
  readonly myself: boolean;
  readonly slots: number;
}

/**
 * @param fallbackHost used when a node reports an empty address (a single node that has
 *   not met others yet reports `:6379@16379` for itself).
 */
export function parseClusterNodes(text: string, fallbackHost: string): ClusterNode[] {
  const nodes: ClusterNode[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const parts = line.split(' ');
    if (parts.length < 8) continue;
    const [id, addr, flagText, master, , , , link] = parts as [string, string, string, string, string, string, string, string];
    const flags = new Set(flagText.split(','));
    if (flags.has('noaddr') || flags.has('handshake')) continue;
    const hostPort = addr.split('@')[0] ?? '';
    const colon = hostPort.lastIndexOf(':');
    if (colon < 0) continue;
    const host = hostPort.slice(0, colon).replace(/^\[|\]$/g, '') || fallbackHost;
    const port = Number(hostPort.slice(colon + 1));
    if (!Number.isInteger(port) || port <= 0) continue;
    let slots = 0;
    for (const s of parts.slice(8)) {
      if (s.startsWith('[')) continue; // slot being migrated/imported
      const dash = s.indexOf('-');
      slots += dash > 0 ? Number(s.slice(dash + 1)) - Number(s.slice(0, dash)) + 1 : 1;
    }
    nodes.push({
      id,
      host,
      port,
      role: flags.has('master') ? 'primary' : 'replica',
      primaryId: master === '-' ? undefined : master,
      failing: flags.has('fail') || flags.has('fail?') || link === 'disconnected',
      myself: flags.has('myself'),
      slots,
    });
  }
  return nodes;
}
