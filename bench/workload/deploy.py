# The same workload as playbook.yml, as a pyinfra deploy.
from io import StringIO

from pyinfra import host
from pyinfra.operations import files, server

root = host.data.bench_root
d = f"{root}/{host.name}"
files.directory(name="dir", path=d)
for i in range(1, 6):
    files.put(name=f"copy {i}", src=StringIO(f"copy {i} content\n"), dest=f"{d}/copy{i}")
for i in range(1, 6):
    files.template(name=f"template {i}", src="t.j2", dest=f"{d}/tmpl{i}", inventory_hostname=host.name)
for i in range(1, 6):
    files.line(name=f"line {i}", path=f"{d}/lines", line=f"extra {i}")
for i in range(1, 5):
    server.shell(name=f"true {i}", commands=["true"])
