#ifndef CAMQP_SHIM_H
#define CAMQP_SHIM_H

#include <amqp.h>

// Swift cannot call C variadic functions, and amqp_login /
// amqp_login_with_properties take their SASL credentials as varargs.
// These wrappers give each SASL method a fixed signature.

/// PLAIN authentication (user name and password).
amqp_rpc_reply_t camqp_login_plain(amqp_connection_state_t state,
                                   const char *vhost, int channel_max,
                                   int frame_max, int heartbeat,
                                   const amqp_table_t *client_properties,
                                   const char *user, const char *password);

/// EXTERNAL authentication (identity taken from the TLS client certificate).
amqp_rpc_reply_t camqp_login_external(amqp_connection_state_t state,
                                      const char *vhost, int channel_max,
                                      int frame_max, int heartbeat,
                                      const amqp_table_t *client_properties,
                                      const char *identity);

#endif
