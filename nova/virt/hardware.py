"""Guest hardware asked for by flavor extra specs and image properties."""

from nova import exception

FLAVOR_SERIAL_PORT_COUNT = 'hw:serial_port_count'
IMAGE_SERIAL_PORT_COUNT = 'hw_serial_port_count'

# Nova's flavor keys for the guest's CFS controls, libvirt's <cputune>
# (the names after "quota:cpu_"), with the ranges libvirt documents:
# shares is a weight (cgroup v1 takes 2-262144, v2 1-10000), period and
# quota are microseconds, quota -1 meaning no limit.
CPU_TUNE_PREFIX = 'quota:cpu_'
_CPU_TUNE_RANGES = {
    'shares': ((1, 262144),),
    'period': ((1000, 1000000),),
    'quota': ((-1, -1), (1000, 17592186044415)),
}


def _port_count(value, where):
    if value is None:
        return None
    if isinstance(value, bool):
        raise exception.ImageSerialPortNumberInvalid(property=where,
                                                     value=value)
    try:
        count = int(str(value).strip())
    except ValueError:
        raise exception.ImageSerialPortNumberInvalid(property=where,
                                                     value=value)
    if count < 1:
        raise exception.ImageSerialPortNumberInvalid(property=where,
                                                     value=value)
    return count


def get_number_of_serial_ports(flavor, image_meta):
    """Serial ports the guest asks for: image value, else flavor's, else 1.

    The flavor sets the ceiling (the operator pays for the ports); the
    image may only ask for fewer.
    """
    flavor_count = _port_count(
        flavor.extra_specs.get(FLAVOR_SERIAL_PORT_COUNT),
        FLAVOR_SERIAL_PORT_COUNT)
    image_count = _port_count(
        image_meta.properties.get(IMAGE_SERIAL_PORT_COUNT),
        IMAGE_SERIAL_PORT_COUNT)
    if flavor_count is not None and image_count is not None:
        if image_count > flavor_count:
            raise exception.ImageSerialPortNumberExceedFlavorValue(
                image_value=image_count, flavor_value=flavor_count)
    return image_count or flavor_count or 1


def _ranges_text(ranges):
    return ' or '.join(str(lo) if lo == hi else '%d-%d' % (lo, hi)
                       for lo, hi in ranges)


def get_cpu_tune(flavor):
    """The flavor's ``quota:cpu_shares``, ``quota:cpu_period`` and
    ``quota:cpu_quota`` as ints, ``{'shares': ..., 'period': ...,
    'quota': ...}`` with only the keys the flavor sets; an empty dict when
    it sets none.

    :raises nova.exception.FlavorExtraSpecInvalid: a value that is not an
        integer in libvirt's range for it (the message names key and
        range).
    """
    tune = {}
    for name, ranges in _CPU_TUNE_RANGES.items():
        key = CPU_TUNE_PREFIX + name
        value = flavor.extra_specs.get(key)
        if value is None:
            continue
        why = 'an integer %s' % _ranges_text(ranges)
        if isinstance(value, bool):
            raise exception.FlavorExtraSpecInvalid(key=key, value=value,
                                                   reason='not ' + why)
        try:
            number = int(str(value).strip())
        except ValueError:
            raise exception.FlavorExtraSpecInvalid(key=key, value=value,
                                                   reason='not ' + why)
        if not any(lo <= number <= hi for lo, hi in ranges):
            raise exception.FlavorExtraSpecInvalid(
                key=key, value=value, reason='libvirt takes ' + why)
        tune[name] = number
    return tune
