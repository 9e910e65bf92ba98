"""Guest hardware asked for by flavor extra specs and image properties."""

from nova import exception

FLAVOR_SERIAL_PORT_COUNT = 'hw:serial_port_count'
IMAGE_SERIAL_PORT_COUNT = 'hw_serial_port_count'


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
