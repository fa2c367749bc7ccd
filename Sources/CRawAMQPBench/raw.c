#include "CRawAMQPBench.h"
#include "CAMQPShim.h"
#include "connection.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/// Reads frames until every publish up to `target` is confirmed.
static int wait_confirms(amqp_connection_state_t conn, uint64_t *confirmed,
                         uint64_t target, char *error) {
  while (*confirmed < target) {
    amqp_frame_t frame;
    if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK) {
      snprintf(error, 256, "connection lost while waiting for confirms");
      return -1;
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
      amqp_basic_ack_t *ack = frame.payload.method.decoded;
      // Acks may confirm out of order; count this tag or everything up to it.
      if (ack->multiple) {
        if (ack->delivery_tag > *confirmed) *confirmed = ack->delivery_tag;
      } else {
        (*confirmed)++;
      }
    } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
      snprintf(error, 256, "broker nacked a publish");
      return -1;
    }
    amqp_maybe_release_buffers(conn);
  }
  return 0;
}

double raw_publish_confirmed(const char *host, int port, const char *user,
                             const char *password, const char *queue,
                             int count, int body_size, int window,
                             char *error) {
  amqp_connection_state_t conn = raw_open_connection(host, port, user, password, error);
  if (!conn) return -1;
  amqp_confirm_select(conn, 1);
  amqp_get_rpc_reply(conn);
  char *payload = calloc(1, (size_t)body_size + 1);
  memset(payload, 'x', (size_t)body_size);
  amqp_bytes_t body = {.len = (size_t)body_size, .bytes = payload};
  amqp_basic_properties_t props = {._flags = AMQP_BASIC_DELIVERY_MODE_FLAG, .delivery_mode = 1};
  uint64_t confirmed = 0;
  double start = raw_now_seconds();
  for (int i = 0; i < count; i++) {
    if ((uint64_t)i - confirmed >= (uint64_t)window &&
        wait_confirms(conn, &confirmed, (uint64_t)i - (uint64_t)window + 1, error) < 0) {
      free(payload);
      return -1;
    }
    if (amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(queue), 0, 0, &props, body) != AMQP_STATUS_OK) {
      snprintf(error, 256, "publish failed");
      free(payload);
      return -1;
    }
  }
  int rc = wait_confirms(conn, &confirmed, (uint64_t)count, error);
  double elapsed = raw_now_seconds() - start;
  free(payload);
  raw_close_connection(conn);
  return rc < 0 ? -1 : elapsed;
}

double raw_consume_ack(const char *host, int port, const char *user,
                       const char *password, const char *queue, int count,
                       int prefetch, char *error) {
  amqp_connection_state_t conn = raw_open_connection(host, port, user, password, error);
  if (!conn) return -1;
  amqp_basic_qos(conn, 1, 0, (uint16_t)prefetch, 0);
  amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL) {
    snprintf(error, 256, "basic.consume failed");
    return -1;
  }
  double start = raw_now_seconds();
  for (int i = 0; i < count; i++) {
    amqp_envelope_t envelope;
    amqp_maybe_release_buffers(conn);
    amqp_rpc_reply_t r = amqp_consume_message(conn, &envelope, NULL, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      snprintf(error, 256, "consume failed after %d messages", i);
      return -1;
    }
    amqp_basic_ack(conn, 1, envelope.delivery_tag, 0);
    amqp_destroy_envelope(&envelope);
  }
  double elapsed = raw_now_seconds() - start;
  raw_close_connection(conn);
  return elapsed;
}

double raw_round_trips(const char *host, int port, const char *user,
                       const char *password, const char *queue, int count,
                       double *latencies, char *error) {
  amqp_connection_state_t conn = raw_open_connection(host, port, user, password, error);
  if (!conn) return -1;
  amqp_confirm_select(conn, 1);
  amqp_get_rpc_reply(conn);
  amqp_basic_qos(conn, 1, 0, 1, 0);
  amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  amqp_get_rpc_reply(conn);
  amqp_basic_properties_t props = {._flags = AMQP_BASIC_DELIVERY_MODE_FLAG, .delivery_mode = 1};
  double start = raw_now_seconds();
  for (int i = 0; i < count; i++) {
    double t0 = raw_now_seconds();
    amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(queue), 0, 0, &props, amqp_cstring_bytes("ping"));
    int got_ack = 0, got_message = 0;
    // The confirm and the delivery arrive in either order.
    while (!got_ack || !got_message) {
      amqp_frame_t frame;
      amqp_maybe_release_buffers(conn);
      if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK) {
        snprintf(error, 256, "connection lost");
        return -1;
      }
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
        got_ack = 1;
      } else if (frame.payload.method.id == AMQP_BASIC_DELIVER_METHOD) {
        amqp_basic_deliver_t *d = frame.payload.method.decoded;
        uint64_t tag = d->delivery_tag;
        amqp_message_t message;
        if (amqp_read_message(conn, 1, &message, 0).reply_type != AMQP_RESPONSE_NORMAL) {
          snprintf(error, 256, "read_message failed");
          return -1;
        }
        amqp_destroy_message(&message);
        amqp_basic_ack(conn, 1, tag, 0);
        got_message = 1;
      }
    }
    latencies[i] = raw_now_seconds() - t0;
  }
  double elapsed = raw_now_seconds() - start;
  raw_close_connection(conn);
  return elapsed;
}
