#ifndef CRAW_AMQP_CONNECTION_H
#define CRAW_AMQP_CONNECTION_H

#include <amqp.h>

// Shared by the raw loops: a blocking connection with channel 1 open, or
// NULL with a message in `error` (256 bytes).
amqp_connection_state_t raw_open_connection(const char *host, int port, const char *user,
                                            const char *password, char *error);
void raw_close_connection(amqp_connection_state_t conn);
double raw_now_seconds(void);

#endif
