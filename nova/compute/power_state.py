"""A guest's power state, Nova's integers (``OS-EXT-STS:power_state``)."""

NOSTATE = 0x00
RUNNING = 0x01
PAUSED = 0x03
SHUTDOWN = 0x04  # the guest is off, as libvirt's VIR_DOMAIN_SHUTOFF
CRASHED = 0x06
SUSPENDED = 0x07

STATES = {
    NOSTATE: 'pending',
    RUNNING: 'running',
    PAUSED: 'paused',
    SHUTDOWN: 'shutdown',
    CRASHED: 'crashed',
    SUSPENDED: 'suspended',
}
