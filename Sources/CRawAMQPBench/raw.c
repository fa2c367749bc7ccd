#include "CRawAMQPBench.h"
