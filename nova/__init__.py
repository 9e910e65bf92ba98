import warnings

# oslo.messaging imports oslo.service, which imports eventlet; we use
# neither eventlet nor its monkey-patching (threads only), so eventlet's
# deprecation notice on import is only noise in every command's output.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
