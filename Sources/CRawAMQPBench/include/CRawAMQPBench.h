#ifndef CRAW_AMQP_BENCH_H
#define CRAW_AMQP_BENCH_H

#include <stddef.h>

// A deliberately minimal librabbitmq client: one connection, one channel, no
// recovery, no threads. It is the baseline the Swift AMQP layer is measured
// against in `patchfleet-bench amqp`. Each function returns elapsed seconds,
// or a negative number on error (with a message in `error`, 256 bytes).

/// Publishes `count` messages of `body_size` bytes to the default exchange with
/// routing key `queue`, in confirm mode, keeping at most `window` unconfirmed.
double raw_publish_confirmed(const char *host, int port, const char *user,
                             const char *password, const char *queue,
                             int count, int body_size, int window,
                             char *error);

/// Consumes `count` messages from `queue` with the given prefetch, acking each.
double raw_consume_ack(const char *host, int port, const char *user,
                       const char *password, const char *queue, int count,
                       int prefetch, char *error);

/// `count` sequential round trips: publish one message, receive it, ack it.
/// Each trip's latency in seconds goes to `latencies[i]`.
double raw_round_trips(const char *host, int port, const char *user,
                       const char *password, const char *queue, int count,
                       double *latencies, char *error);

/// The broker's ceiling for the fleet's message pattern (`patchfleet-bench
/// fleet`). A step is what one saga step costs the broker: a task published
/// (confirmed) to `task_queue`, consumed and acked, a result published
/// (confirmed) to `result_queue`, consumed and acked. `timers` more steps
/// take only the second hop (a saga timer comes back as a result), and
/// `events` confirmed publishes to `event_exchange` are spread over the
/// steps. At most `window` steps are in flight (the fleet's sagas in
/// parallel). The queues must exist (the caller declares them like the
/// fleet's: quorum). Messages are persistent, `body_size` bytes.
///
/// With `calls` > 0, the tasks also make that many backend calls in all
/// (spread over them), each as the lab's are made: a transient request,
/// confirmed, to `call_queue`, consumed and acked, and a transient reply,
/// confirmed, to `reply_queue`, consumed and acked, before the task's
/// result is published. Both queues classic, like the lab's.
double raw_saga_steps(const char *host, int port, const char *user,
                      const char *password, const char *task_queue,
                      const char *result_queue, const char *event_exchange,
                      const char *call_queue, const char *reply_queue,
                      int tasks, int timers, int events, int calls, int body_size,
                      int window, char *error);

#endif
