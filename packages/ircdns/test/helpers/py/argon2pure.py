"""Stand-in for `argon2pure` (not packaged by Debian), which P2PD's irc_dns.py imports for its
time-locks: the same Argon2 (RFC 9106) through Debian's python3-argon2. Only the call P2PD makes."""
from argon2.low_level import Type, hash_secret_raw


def argon2(password, salt, time_cost, memory_cost, parallelism, tag_length=32, secret=b"",
           associated_data=b"", type_code=1, threads=None, version=0x13, use_threads=False):
    if type_code != 1 or secret or associated_data:
        raise NotImplementedError("only Argon2i without secret or associated data")
    return hash_secret_raw(password, salt, time_cost=time_cost, memory_cost=memory_cost,
                           parallelism=parallelism, hash_len=tag_length, type=Type.I,
                           version=version)
