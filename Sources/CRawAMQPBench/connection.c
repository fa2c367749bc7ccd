#include "connection.h"
#include "CAMQPShim.h"

#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <time.h>

double raw_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

amqp_connection_state_t raw_open_connection(const char *host, int port,
                                               const char *user,
                                               const char *password,
                                               char *error) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t *socket = amqp_tcp_socket_new(conn);
  if (!socket || amqp_socket_open(socket, host, port) != AMQP_STATUS_OK) {
    snprintf(error, 256, "cannot connect to %s:%d", host, port);
    amqp_destroy_connection(conn);
    return NULL;
  }
  amqp_rpc_reply_t r = camqp_login_plain(conn, "/", 0, AMQP_DEFAULT_FRAME_SIZE,
                                         0, &amqp_empty_table, user, password);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    snprintf(error, 256, "login failed");
    amqp_destroy_connection(conn);
    return NULL;
  }
  amqp_channel_open(conn, 1);
  if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL) {
    snprintf(error, 256, "channel.open failed");
    amqp_destroy_connection(conn);
    return NULL;
  }
  return conn;
}

void raw_close_connection(amqp_connection_state_t conn) {
  amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
}

