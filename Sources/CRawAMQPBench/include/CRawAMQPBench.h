#ifndef CRAW_AMQP_BENCH_H
#define CRAW_AMQP_BENCH_H
#endif
