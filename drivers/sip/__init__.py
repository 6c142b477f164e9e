"""SIP for the operators' phones: an asyncio stack of our own (see docs/sip.md).

``SipChannel`` (kind ``sip``, role ``phones``) is the driver; the rest are its parts:
message/headers (parser), transaction, transport, stack, auth, registrar, dialog, call,
transfer, blf, sdp, rtp, provisioning.
"""
