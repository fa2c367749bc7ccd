#include "CRawAMQPBench.h"
#include "connection.h"

#include <amqp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// One thread, one connection, one channel: both sides of every step (the
// coordinator's task and the worker's result) on the same socket, so the
// loop is as cheap as a client can be and only the broker's work remains.

typedef struct {
  amqp_connection_state_t conn;
  amqp_basic_properties_t props;
  // Backend calls are transient, like the lab's requests and replies.
  amqp_basic_properties_t transient;
  amqp_bytes_t body;
  uint64_t published;
  uint64_t confirmed;
  // Confirms for messages to different quorum queues come out of order,
  // singly or as `multiple`: each tag is counted once, whatever the mix.
  uint8_t *acked;
  uint64_t lowest_unacked;
} pattern_t;

static void confirm(pattern_t *p, uint64_t tag, int multiple) {
  uint64_t from = multiple ? p->lowest_unacked : tag;
  for (uint64_t t = from; t <= tag && t <= p->published; t++) {
    if (!p->acked[t]) {
      p->acked[t] = 1;
      p->confirmed++;
    }
  }
  while (p->lowest_unacked <= p->published && p->acked[p->lowest_unacked]) p->lowest_unacked++;
}

static int publish_as(pattern_t *p, const char *exchange, const char *key, amqp_basic_properties_t *props,
                      amqp_bytes_t body, char *error) {
  if (amqp_basic_publish(p->conn, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes(key), 0, 0, props, body) !=
      AMQP_STATUS_OK) {
    snprintf(error, 256, "publish failed");
    return -1;
  }
  p->published++;
  return 0;
}

static int publish(pattern_t *p, const char *exchange, const char *key, char *error) {
  return publish_as(p, exchange, key, &p->props, p->body, error);
}

// A backend call carries how many calls its task still has to make (this
// one included) as its body: the loop has no other state per step.
static int publish_call(pattern_t *p, const char *queue, int remaining, char *error) {
  char text[16];
  int len = snprintf(text, sizeof text, "%d", remaining);
  return publish_as(p, "", queue, &p->transient, (amqp_bytes_t){.len = (size_t)len, .bytes = text}, error);
}

static int remaining_calls(amqp_message_t *message) {
  char text[16] = {0};
  size_t len = message->body.len < sizeof text - 1 ? message->body.len : sizeof text - 1;
  memcpy(text, message->body.bytes, len);
  return atoi(text);
}

static int is_tag(amqp_bytes_t tag, const char *expected) {
  return tag.len == strlen(expected) && memcmp(tag.bytes, expected, tag.len) == 0;
}

double raw_saga_steps(const char *host, int port, const char *user,
                      const char *password, const char *task_queue,
                      const char *result_queue, const char *event_exchange,
                      const char *call_queue, const char *reply_queue,
                      int tasks, int timers, int events, int calls, int body_size,
                      int window, char *error) {
  pattern_t p = {0};
  p.conn = raw_open_connection(host, port, user, password, error);
  if (!p.conn) return -1;
  amqp_confirm_select(p.conn, 1);
  amqp_get_rpc_reply(p.conn);
  amqp_basic_qos(p.conn, 1, 0, (uint16_t)(window > 0 ? window : 1), 0);
  amqp_basic_consume(p.conn, 1, amqp_cstring_bytes(task_queue), amqp_cstring_bytes("t"), 0, 0, 0, amqp_empty_table);
  amqp_basic_consume(p.conn, 1, amqp_cstring_bytes(result_queue), amqp_cstring_bytes("r"), 0, 0, 0, amqp_empty_table);
  if (calls > 0) {
    amqp_basic_consume(p.conn, 1, amqp_cstring_bytes(call_queue), amqp_cstring_bytes("c"), 0, 0, 0, amqp_empty_table);
    amqp_basic_consume(p.conn, 1, amqp_cstring_bytes(reply_queue), amqp_cstring_bytes("p"), 0, 0, 0, amqp_empty_table);
  }
  if (amqp_get_rpc_reply(p.conn).reply_type != AMQP_RESPONSE_NORMAL) {
    snprintf(error, 256, "basic.consume failed");
    return -1;
  }
  char *payload = calloc(1, (size_t)body_size + 1);
  memset(payload, 'x', (size_t)body_size);
  p.body = (amqp_bytes_t){.len = (size_t)body_size, .bytes = payload};
  p.props = (amqp_basic_properties_t){._flags = AMQP_BASIC_DELIVERY_MODE_FLAG, .delivery_mode = 2};
  p.transient = (amqp_basic_properties_t){._flags = AMQP_BASIC_DELIVERY_MODE_FLAG, .delivery_mode = 1};

  const int total = tasks + timers;
  // Every publish: a task and its result per task, a result per timer, the events.
  p.acked = calloc((size_t)(2 * tasks + timers + events + 2 * (calls > 0 ? calls : 0)) + 2 + (size_t)tasks, 1);
  p.lowest_unacked = 1;
  int started = 0, done = 0, rc = 0;
  double events_per_step = total > 0 ? (double)events / total : 0, owed_events = 0;
  double calls_per_task = tasks > 0 && calls > 0 ? (double)calls / tasks : 0, owed_calls = 0;
  double start = raw_now_seconds();
  // A step starts with its task (or, for a timer, directly with its result).
#define START_ONE()                                                                 \
  do {                                                                              \
    const char *first = started < tasks ? task_queue : result_queue;                \
    if (publish(&p, "", first, error) < 0) { rc = -1; goto out; }                   \
    started++;                                                                      \
  } while (0)
  while (started < total && started < window) START_ONE();
  while (done < total || p.confirmed < p.published) {
    amqp_frame_t frame;
    amqp_maybe_release_buffers(p.conn);
    if (amqp_simple_wait_frame(p.conn, &frame) != AMQP_STATUS_OK) {
      snprintf(error, 256, "connection lost after %d steps", done);
      rc = -1;
      goto out;
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
      amqp_basic_ack_t *ack = frame.payload.method.decoded;
      confirm(&p, ack->delivery_tag, ack->multiple);
      break;
    }
    case AMQP_BASIC_NACK_METHOD:
      snprintf(error, 256, "broker nacked a publish");
      rc = -1;
      goto out;
    case AMQP_BASIC_DELIVER_METHOD: {
      amqp_basic_deliver_t *d = frame.payload.method.decoded;
      uint64_t tag = d->delivery_tag;
      int is_task = is_tag(d->consumer_tag, "t");
      int is_call = is_tag(d->consumer_tag, "c"), is_reply = is_tag(d->consumer_tag, "p");
      amqp_message_t message;
      if (amqp_read_message(p.conn, 1, &message, 0).reply_type != AMQP_RESPONSE_NORMAL) {
        snprintf(error, 256, "read_message failed");
        rc = -1;
        goto out;
      }
      int remaining = is_call || is_reply ? remaining_calls(&message) : 0;
      amqp_destroy_message(&message);
      amqp_basic_ack(p.conn, 1, tag, 0);
      if (is_call) {
        // The backend's side: answer.
        if (publish_call(&p, reply_queue, remaining, error) < 0) { rc = -1; goto out; }
      } else if (is_reply || is_task) {
        // The worker's side: the next call of this task, or its result.
        int left = is_reply ? remaining - 1 : 0;
        if (is_task) {
          owed_calls += calls_per_task;
          for (; owed_calls >= 1; owed_calls -= 1) left++;
        }
        if (left > 0) {
          if (publish_call(&p, call_queue, left, error) < 0) { rc = -1; goto out; }
        } else if (publish(&p, "", result_queue, error) < 0) {
          rc = -1;
          goto out;
        }
      } else {
        done++;
        for (owed_events += events_per_step; owed_events >= 1; owed_events -= 1) {
          if (publish(&p, event_exchange, "host.bench", error) < 0) { rc = -1; goto out; }
        }
        if (started < total) START_ONE();
      }
      break;
    }
    default:
      break;
    }
  }
#undef START_ONE
out:;
  double elapsed = raw_now_seconds() - start;
  free(payload);
  free(p.acked);
  raw_close_connection(p.conn);
  return rc < 0 ? -1 : elapsed;
}
