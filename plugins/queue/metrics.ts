import type { MetricSpec } from '../../agent/plugin/api.ts';

/** The one place the queue plugin's metrics are declared. */

/**
 * Attributes of a queue series: OpenTelemetry messaging conventions. For JetStream the
 * destination is the stream and `messaging.consumer.group.name` the durable consumer.
 */
export const QUEUE_ATTRS = ['messaging.system', 'messaging.destination.name', 'messaging.consumer.group.name', 'server.address'] as const;
const q = [...QUEUE_ATTRS];

export const Q = {
  backlog: 'vigil.queue.backlog',
  backlogLimit: 'vigil.queue.backlog.limit',
  messages: 'vigil.queue.messages',
  bytes: 'vigil.queue.bytes',
  consumers: 'vigil.queue.consumers',
  oldestAge: 'vigil.queue.oldest.age',
  paused: 'vigil.queue.paused',
  enqueued: 'vigil.queue.enqueued',
  dequeued: 'vigil.queue.dequeued',
  operations: 'vigil.queue.operations',
  operationRate: 'vigil.queue.operations.rate',
  enqueueRate: 'vigil.queue.enqueue.rate',
  dequeueRate: 'vigil.queue.dequeue.rate',
  growth: 'vigil.queue.backlog.growth',
  timeToDrain: 'vigil.queue.time_to_drain',
  sourceUp: 'vigil.queue.source.up',
} as const;

export const queueMetrics: readonly MetricSpec[] = [
  {
    name: Q.backlog,
    kind: 'gauge',
    unit: '{message}',
    description: 'Messages or jobs waiting to be processed: BullMQ wait+paused+prioritized; RabbitMQ ready (+unacked with the management API); JetStream consumer pending+ack pending.',
    attributes: q,
    limit: Q.backlogLimit,
  },
  { name: Q.backlogLimit, kind: 'gauge', unit: '{message}', description: 'Configured backlog ceiling (ceilings option).', attributes: q },
  { name: Q.messages, kind: 'gauge', unit: '{message}', description: 'Messages or jobs by state (vigil.queue.state: waiting, active, delayed, prioritized, paused, failed, completed, waiting_children, ready, unacknowledged, stored, pending, ack_pending, redelivered, waiting_pulls).', attributes: [...q, 'vigil.queue.state'] },
  { name: Q.bytes, kind: 'gauge', unit: 'By', description: 'Bytes held (JetStream stream, RabbitMQ queue via the management API).', attributes: q },
  { name: Q.consumers, kind: 'gauge', unit: '{consumer}', description: 'Consumers attached (RabbitMQ queue, JetStream stream).', attributes: q },
  { name: Q.oldestAge, kind: 'gauge', unit: 's', description: 'Age of the oldest waiting job (BullMQ), from its creation plus delay.', attributes: q },
  { name: Q.paused, kind: 'gauge', unit: '1', description: '1 when the queue is paused (BullMQ).', attributes: q },
  { name: Q.enqueued, kind: 'counter', unit: '{message}', description: 'Messages ever added: BullMQ job id counter, RabbitMQ publishes (management API), JetStream stream last sequence.', attributes: q },
  { name: Q.dequeued, kind: 'counter', unit: '{message}', description: 'Messages removed by consumers (RabbitMQ ack + auto-ack deliveries + auto-ack gets, management API).', attributes: q },
  { name: Q.operations, kind: 'counter', unit: '{message}', description: 'RabbitMQ management API message counters by vigil.queue.operation: publish, deliver, ack, redeliver, get.', attributes: [...q, 'vigil.queue.operation'] },
  { name: Q.operationRate, kind: 'gauge', unit: '{message}/s', description: 'RabbitMQ publish/deliver/ack/redeliver/get per second over the last interval (management API counter deltas).', attributes: [...q, 'vigil.queue.operation'] },
  { name: Q.enqueueRate, kind: 'gauge', unit: '{message}/s', description: 'Messages added per second over the last interval (measured, or dequeued + backlog change).', attributes: q },
  { name: Q.dequeueRate, kind: 'gauge', unit: '{message}/s', description: 'Messages taken per second over the last interval (measured, or enqueued - backlog change).', attributes: q },
  { name: Q.growth, kind: 'gauge', unit: '{message}/s', description: 'Backlog change per second over the last interval (negative while draining).', attributes: q },
  { name: Q.timeToDrain, kind: 'gauge', unit: 's', description: 'Backlog / net drain rate over the last interval; 0 when empty, absent while the backlog is not shrinking.', attributes: q },
  { name: Q.sourceUp, kind: 'gauge', unit: '1', description: '1 when the last collection from the broker succeeded, else 0.', attributes: ['messaging.system', 'server.address'] },
];
