"""SNMPv3 protocol names as net-snmp's tools spell them, by the inventory's names (tests of both ends)."""

NET_SNMP_AUTH = {"MD5": "MD5", "SHA": "SHA", "SHA224": "SHA-224", "SHA256": "SHA-256", "SHA384": "SHA-384",
                 "SHA512": "SHA-512"}  # fmt: skip
NET_SNMP_PRIV = {"DES": "DES", "AES": "AES", "AES192": "AES-192", "AES256": "AES-256", "AES192C": "AES-192-C",
                 "AES256C": "AES-256-C"}  # fmt: skip
PAIRS = [(auth, priv) for auth in NET_SNMP_AUTH for priv in (None, *NET_SNMP_PRIV)]
"""Every auth x privacy pair net-snmp 5.9 offers (privacy None: authNoPriv)."""
