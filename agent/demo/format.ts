import type { SlackMessage } from './slack-standin.ts';

const MARK: Readonly<Record<SlackMessage['tier'], string>> = { critical: 'CRITICAL', warning: 'WARNING', info: 'INFO', resolved: 'RESOLVED' };

/** A Slack message as a framed block of text, the way the channel would show it. */
export function formatSlackMessage(m: SlackMessage): string {
  const lines = m.lines.length > 0 ? m.lines : [m.text];
  const body = lines.flatMap((l) => l.split('\n')).map((l) => `  │ ${l.replace(/\*/g, '')}`);
  return [`  ┌─ #alerts · ${MARK[m.tier]}`, ...body, '  └─'].join('\n');
}
