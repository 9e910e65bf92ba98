"""Domain XML as real libvirt 9.0 / QEMU 7.2 reports it.

Captured from a running TCG guest spawned by this driver with two tcp
serial ports, the first logged by virtlogd: ``LIVE_DOMAIN`` is
``XMLDesc(0)``, ``MIGRATABLE_DOMAIN`` is
``XMLDesc(VIR_DOMAIN_XML_MIGRATABLE)``. Long lines are wrapped between
attributes.
"""

UUID = '6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d'
LOG_PATH = '/var/lib/nova/instances/%s/console.log' % UUID

LIVE_DOMAIN = """<domain type='qemu' id='43'>
  <name>instance-6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d</name>
  <uuid>6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d</uuid>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <resource>
    <partition>/machine</partition>
  </resource>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <kernel>/work/main/build/guest/vmlinuz</kernel>
    <initrd>/work/main/build/guest/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 panic=-1</cmdline>
    <boot dev='hd'/>
  </os>
  <cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>qemu64</model>
    <feature policy='require' name='hypervisor'/>
    <feature policy='require' name='lahf_lm'/>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' index='0' model='piix3-uhci'>
      <alias name='usb'/>
      <address type='pci' domain='0x0000' bus='0x00'
               slot='0x01' function='0x2'/>
    </controller>
    <controller type='pci' index='0' model='pci-root'>
      <alias name='pci.0'/>
    </controller>
    <serial type='tcp'>
      <source mode='bind' host='127.0.0.1' service='31000' tls='no'/>
      <protocol type='raw'/>
      <log file='/var/lib/nova/instances/6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d/console.log'
            append='on'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
      <alias name='serial0'/>
    </serial>
    <serial type='tcp'>
      <source mode='bind' host='127.0.0.1' service='31001' tls='no'/>
      <protocol type='raw'/>
      <target type='isa-serial' port='1'>
        <model name='isa-serial'/>
      </target>
      <alias name='serial1'/>
    </serial>
    <console type='tcp'>
      <source mode='bind' host='127.0.0.1' service='31000' tls='no'/>
      <protocol type='raw'/>
      <log file='/var/lib/nova/instances/6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d/console.log'
            append='on'/>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>
    <input type='mouse' bus='ps2'>
      <alias name='input0'/>
    </input>
    <input type='keyboard' bus='ps2'>
      <alias name='input1'/>
    </input>
    <audio id='1' type='none'/>
    <memballoon model='virtio'>
      <alias name='balloon0'/>
      <address type='pci' domain='0x0000' bus='0x00'
               slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
  <seclabel type='dynamic' model='dac' relabel='yes'>
    <label>+0:+0</label>
    <imagelabel>+0:+0</imagelabel>
  </seclabel>
</domain>
"""

MIGRATABLE_DOMAIN = """<domain type='qemu'>
  <name>instance-6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d</name>
  <uuid>6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d</uuid>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <resource>
    <partition>/machine</partition>
  </resource>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <kernel>/work/main/build/guest/vmlinuz</kernel>
    <initrd>/work/main/build/guest/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 panic=-1</cmdline>
    <boot dev='hd'/>
  </os>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>qemu64</model>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='tcp'>
      <source mode='bind' host='127.0.0.1' service='31000'/>
      <protocol type='raw'/>
      <log file='/var/lib/nova/instances/6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d/console.log'
            append='on'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
    </serial>
    <serial type='tcp'>
      <source mode='bind' host='127.0.0.1' service='31001'/>
      <protocol type='raw'/>
      <target type='isa-serial' port='1'>
        <model name='isa-serial'/>
      </target>
    </serial>
    <console type='tcp'>
      <source mode='bind' host='127.0.0.1' service='31000'/>
      <protocol type='raw'/>
      <log file='/var/lib/nova/instances/6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d/console.log'
            append='on'/>
      <target type='serial' port='0'/>
    </console>
    <input type='mouse' bus='ps2'/>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00'
               slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
"""
