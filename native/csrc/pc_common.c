/* papercraft-native: error messages and the choice of instruction set. */
#include <string.h>

#include "pc_internal.h"
#include "pc_lmul.h"

const char* pc_strerror(int code) {
    switch (code) {
        case PC_OK:
            return "ok";
        case PC_ERR_NULL:
            return "a required pointer argument is NULL";
        case PC_ERR_BITS:
            return "mantissa bits k must be in 1..23";
        case PC_ERR_SIZE:
            return "sizes overflow the address space";
        case PC_ERR_THREADS:
            return "threads must be in 1..PC_MAX_THREADS";
        case PC_ERR_NOMEM:
            return "out of memory";
        case PC_ERR_ISA:
            return "instruction set unknown or not supported by this CPU/build";
        case PC_ERR_ARG:
            return "invalid argument (head dimension 0, non-finite lambda or causal not 0/1)";
        default:
            return "unknown error code";
    }
}

static int detect(void) {
#if PC_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return PC_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return PC_ISA_AVX2;
#endif
    return PC_ISA_BASELINE;
}

/* -1: not chosen (use the detected level). */
static int forced = -1;

int pc_isa_level(void) {
#if defined(__GNUC__)
    int level = __atomic_load_n(&forced, __ATOMIC_RELAXED);
#else
    int level = forced;
#endif
    return level >= 0 ? level : detect();
}

static const char* const names[] = {"baseline", "avx2", "avx512"};

const char* pc_isa(void) { return names[pc_isa_level()]; }

int pc_set_isa(const char* name) {
    int level = -1;
    if (name != NULL && strcmp(name, "auto") != 0) {
        for (int i = 0; i < 3; ++i)
            if (strcmp(name, names[i]) == 0) level = i;
        if (level < 0 || level > detect()) return PC_ERR_ISA;
    }
#if defined(__GNUC__)
    __atomic_store_n(&forced, level, __ATOMIC_RELAXED);
#else
    forced = level;
#endif
    return PC_OK;
}
