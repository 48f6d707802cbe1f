/* execve of a file the kernel refuses fails with -1 and Linux's errno
 * before the point of no return, and the caller carries on: broken ELF
 * headers and program header tables, a PT_INTERP that is bad or names a
 * missing, unreadable or non-ELF interpreter, bad #! lines, too many #!
 * levels, an empty file, a directory. The files are tiny ELFs built here
 * (one PT_LOAD whose code calls exit), so nothing depends on the variant.
 * Errnos from fs/binfmt_elf.c load_elf_binary and load_elf_phdrs,
 * fs/binfmt_script.c load_script, fs/exec.c exec_binprm (Linux 6.x). */
#include "../test.h"
#include <elf.h>
#include <sys/wait.h>

#define EXEC_BASE 0x400000

struct elf_opts {
	int type;                /* e_type (0: ET_EXEC) */
	int machine;             /* e_machine (0: EM_X86_64) */
	int phentsize;           /* e_phentsize (-1: the right one) */
	int phnum;               /* e_phnum (-1: the real count) */
	unsigned long phoff;     /* e_phoff (0: right after the ELF header) */
	const char *interp;      /* PT_INTERP contents (NULL: none) */
	size_t interp_len;       /* its p_filesz (0: strlen + 1, with the NUL) */
	unsigned long interp_off;/* its p_offset (0: where it is) */
	int code;                /* the exit status of the program */
	size_t size;             /* bytes written (0: all of it) */
	size_t pad_to;           /* zero bytes appended up to this size */
};

static unsigned char buf[66000];

/* Writes the ELF described by o to path, mode 0755; returns 0 on success. */
static int write_elf(const char *path, struct elf_opts o)
{
	memset(buf, 0, sizeof buf);
	int type = o.type ? o.type : ET_EXEC;
	unsigned long vaddr = type == ET_DYN ? 0 : EXEC_BASE;
	int nph = o.interp ? 2 : 1;
	size_t interp_at = sizeof(Elf64_Ehdr) + nph * sizeof(Elf64_Phdr);
	size_t interp_len = o.interp ? (o.interp_len ? o.interp_len : strlen(o.interp) + 1) : 0;
	size_t code_at = (interp_at + interp_len + 15) & ~(size_t)15;
	/* mov $60, %eax; mov $code, %edi; syscall */
	unsigned char code[] = { 0xb8, 60, 0, 0, 0, 0xbf, (unsigned char)o.code, 0, 0, 0, 0x0f, 0x05 };
	size_t total = code_at + sizeof code;
	if (total > sizeof buf || o.pad_to > sizeof buf)
		return -1;

	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = type;
	eh->e_machine = o.machine ? o.machine : EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = vaddr + code_at;
	eh->e_phoff = o.phoff ? o.phoff : sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = o.phentsize >= 0 ? o.phentsize : sizeof(Elf64_Phdr);
	eh->e_phnum = o.phnum >= 0 ? o.phnum : nph;

	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr));
	if (o.interp) {
		ph->p_type = PT_INTERP;
		ph->p_flags = PF_R;
		ph->p_offset = o.interp_off ? o.interp_off : interp_at;
		ph->p_vaddr = vaddr + interp_at;
		ph->p_filesz = ph->p_memsz = interp_len;
		ph->p_align = 1;
		memcpy(buf + interp_at, o.interp, interp_len < strlen(o.interp) ? interp_len : strlen(o.interp));
		ph++;
	}
	ph->p_type = PT_LOAD;
	ph->p_flags = PF_R | PF_X;
	ph->p_offset = 0;
	ph->p_vaddr = ph->p_paddr = vaddr;
	ph->p_filesz = ph->p_memsz = total;
	ph->p_align = 0x1000;
	memcpy(buf + code_at, code, sizeof code);

	size_t n = o.size ? o.size : total;
	if (o.pad_to > n)
		n = o.pad_to;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, buf, n);
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

/* Defaults: a valid static x86_64 executable that exits 42. */
#define ELF(...) ((struct elf_opts){ .phentsize = -1, .phnum = -1, .code = 42, __VA_ARGS__ })

static int write_mode(const char *path, const char *text, int mode)
{
	if (t_write_file(path, text) != 0)
		return -1;
	return chmod(path, mode);
}

static char *const no_env[] = { NULL };

/* execve(path) in this process: returns only when it fails. */
static int try_exec(const char *path)
{
	char *const argv[] = { (char *)path, NULL };
	return execve(path, argv, no_env);
}

/* execve(path) in a child; its exit status, or 100 + the errno of a failed execve. */
static int run(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		try_exec(path);
		_exit(100 + errno);
	}
	int st = -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	int kept = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	/* The builder is right: these run. */
	CHECK_OK("write a valid ELF", write_elf("good", ELF()));
	CHECK_EQ("a valid static ELF runs", run("./good"), 42);
	CHECK_OK("write an ELF interpreter", write_elf("interp", ELF(.type = ET_DYN, .code = 43)));
	CHECK_EQ("an ET_DYN ELF runs", run("./interp"), 43);
	CHECK_OK("write an ELF with PT_INTERP", write_elf("dyn", ELF(.interp = "./interp")));
	CHECK_EQ("its PT_INTERP interpreter runs", run("./dyn"), 43);
	CHECK_OK("write PT_INTERP with bytes after a NUL",
		 write_elf("dyn-nul", ELF(.interp = "./interp\0junk", .interp_len = 14)));
	CHECK_EQ("PT_INTERP names the file up to its first NUL", run("./dyn-nul"), 43);

	/* The ELF header. */
	CHECK_OK("write", write_mode("empty", "", 0755));
	CHECK_ERR("a zero-length file -> ENOEXEC", try_exec("./empty"), ENOEXEC);
	CHECK_OK("write", write_elf("magic", ELF(.size = 4)));
	CHECK_ERR("only the ELF magic -> ENOEXEC", try_exec("./magic"), ENOEXEC);
	CHECK_OK("write", write_elf("trunc32", ELF(.size = 32)));
	CHECK_ERR("an ELF header cut at 32 bytes -> ENOEXEC", try_exec("./trunc32"), ENOEXEC);
	CHECK_OK("write", write_elf("trunc62", ELF(.size = 62)));
	CHECK_ERR("an ELF header cut at 62 bytes -> ENOEXEC", try_exec("./trunc62"), ENOEXEC);
	CHECK_OK("write", write_elf("trunc100", ELF(.size = 100)));
	CHECK_ERR("program headers cut short -> ENOEXEC", try_exec("./trunc100"), ENOEXEC);
	CHECK_OK("write", write_elf("aarch64", ELF(.machine = EM_AARCH64)));
	CHECK_ERR("an ELF for another machine -> ENOEXEC", try_exec("./aarch64"), ENOEXEC);
	CHECK_OK("write", write_elf("rel", ELF(.type = ET_REL)));
	CHECK_ERR("a relocatable object -> ENOEXEC", try_exec("./rel"), ENOEXEC);
	CHECK_OK("write", write_elf("core", ELF(.type = ET_CORE)));
	CHECK_ERR("a core file -> ENOEXEC", try_exec("./core"), ENOEXEC);
	CHECK_OK("write", write_mode("text", "echo this is no program\n", 0755));
	CHECK_ERR("a text file without #! -> ENOEXEC", try_exec("./text"), ENOEXEC);

	/* The program header table. */
	CHECK_OK("write", write_elf("phoff", ELF(.phoff = 1 << 20)));
	CHECK_ERR("program headers beyond the end of the file -> ENOEXEC", try_exec("./phoff"), ENOEXEC);
	/* The file is 140 bytes: a header at 120 ends past it. */
	CHECK_OK("write", write_elf("phoff-part", ELF(.phoff = 120)));
	CHECK_ERR("program headers running past the end -> ENOEXEC", try_exec("./phoff-part"), ENOEXEC);
	CHECK_OK("write", write_elf("phoff-huge", ELF(.phoff = ~0UL - 8)));
	CHECK_ERR("e_phoff near 2^64 -> ENOEXEC", try_exec("./phoff-huge"), ENOEXEC);
	CHECK_OK("write", write_elf("phnum0", ELF(.phnum = 0)));
	CHECK_ERR("e_phnum 0 -> ENOEXEC", try_exec("./phnum0"), ENOEXEC);
	CHECK_OK("write", write_elf("phnum-max", ELF(.phnum = 0xffff)));
	CHECK_ERR("e_phnum 65535 -> ENOEXEC", try_exec("./phnum-max"), ENOEXEC);
	/* Linux reads at most 64 KiB of program headers: 1170 of them. The file holds them all. */
	CHECK_OK("write", write_elf("phnum1171", ELF(.phnum = 1171, .pad_to = 66000)));
	CHECK_ERR("e_phnum 1171 (over 64 KiB of headers) -> ENOEXEC", try_exec("./phnum1171"), ENOEXEC);
	CHECK_OK("write", write_elf("phnum1170", ELF(.phnum = 1170, .pad_to = 66000)));
	CHECK_EQ("e_phnum 1170 (the rest PT_NULL) runs", run("./phnum1170"), 42);
	CHECK_OK("write", write_elf("phent32", ELF(.phentsize = 32)));
	CHECK_ERR("e_phentsize 32 -> ENOEXEC", try_exec("./phent32"), ENOEXEC);
	CHECK_OK("write", write_elf("phent0", ELF(.phentsize = 0)));
	CHECK_ERR("e_phentsize 0 -> ENOEXEC", try_exec("./phent0"), ENOEXEC);
	CHECK_OK("write", write_elf("phent64", ELF(.phentsize = 64)));
	CHECK_ERR("e_phentsize 64 -> ENOEXEC", try_exec("./phent64"), ENOEXEC);

	/* PT_INTERP itself. */
	CHECK_OK("write", write_elf("interp-nonul", ELF(.interp = "./interp", .interp_len = 8)));
	CHECK_ERR("PT_INTERP not NUL-terminated -> ENOEXEC", try_exec("./interp-nonul"), ENOEXEC);
	CHECK_OK("write", write_elf("interp-1", ELF(.interp = "", .interp_len = 1)));
	CHECK_ERR("PT_INTERP of one byte -> ENOEXEC", try_exec("./interp-1"), ENOEXEC);
	/* An empty name is the working directory to open_exec: a directory. */
	CHECK_OK("write", write_elf("interp-emptyname", ELF(.interp = "", .interp_len = 2)));
	CHECK_ERR("PT_INTERP naming the empty path -> EACCES", try_exec("./interp-emptyname"), EACCES);
	CHECK_OK("write", write_elf("interp-long", ELF(.interp = "./interp", .interp_len = 4097, .pad_to = 8192)));
	CHECK_ERR("PT_INTERP longer than PATH_MAX -> ENOEXEC", try_exec("./interp-long"), ENOEXEC);
	CHECK_OK("write", write_elf("interp-off", ELF(.interp = "./interp", .interp_off = 1 << 20)));
	CHECK_ERR("PT_INTERP beyond the end of the file -> EIO", try_exec("./interp-off"), EIO);

	/* The interpreter PT_INTERP names. */
	CHECK_OK("write", write_elf("interp-missing", ELF(.interp = "./no-such-interp")));
	CHECK_ERR("PT_INTERP naming a missing file -> ENOENT", try_exec("./interp-missing"), ENOENT);
	CHECK_OK("mkdir", mkdir("adir", 0755));
	CHECK_OK("write", write_elf("interp-dir", ELF(.interp = "./adir")));
	CHECK_ERR("PT_INTERP naming a directory -> EACCES", try_exec("./interp-dir"), EACCES);
	CHECK_OK("write", write_mode("noexec", "not executable, and long enough to hold an ELF header: "
					       "0123456789012345678901234567890123456789\n", 0644));
	CHECK_OK("write", write_elf("interp-noexec", ELF(.interp = "./noexec")));
	CHECK_ERR("PT_INTERP naming a file without x -> EACCES", try_exec("./interp-noexec"), EACCES);
	CHECK_OK("write", write_mode("textlong", "#!/bin/sh\n# a script is not an ELF interpreter, "
						 "and this one is longer than an ELF header\n", 0755));
	CHECK_OK("write", write_elf("interp-text", ELF(.interp = "./textlong")));
	CHECK_ERR("PT_INTERP naming a non-ELF file -> ELIBBAD", try_exec("./interp-text"), ELIBBAD);
	CHECK_OK("write", write_mode("textshort", "#!/bin/sh\n", 0755));
	CHECK_OK("write", write_elf("interp-short", ELF(.interp = "./textshort")));
	CHECK_ERR("PT_INTERP naming a file shorter than an ELF header -> EIO", try_exec("./interp-short"), EIO);
	CHECK_OK("write", write_elf("interp-empty", ELF(.interp = "./empty")));
	CHECK_ERR("PT_INTERP naming an empty file -> EIO", try_exec("./interp-empty"), EIO);
	CHECK_OK("write", write_elf("interp-arm", ELF(.interp = "./aarch64")));
	CHECK_ERR("PT_INTERP naming an ELF for another machine -> ELIBBAD", try_exec("./interp-arm"), ELIBBAD);
	CHECK_OK("write", write_elf("interp-phent", ELF(.interp = "./phent32")));
	CHECK_ERR("PT_INTERP naming an ELF with a bad e_phentsize -> ELIBBAD", try_exec("./interp-phent"), ELIBBAD);
	CHECK_OK("write", write_elf("interp-phoff", ELF(.interp = "./phoff")));
	CHECK_ERR("PT_INTERP naming an ELF with headers beyond its end -> ELIBBAD", try_exec("./interp-phoff"), ELIBBAD);

	/* #! scripts. */
	CHECK_OK("write", write_mode("s-missing", "#!./no-such-interp\n", 0755));
	CHECK_ERR("#! naming a missing interpreter -> ENOENT", try_exec("./s-missing"), ENOENT);
	CHECK_OK("write", write_mode("s-dir", "#!./adir\n", 0755));
	CHECK_ERR("#! naming a directory -> EACCES", try_exec("./s-dir"), EACCES);
	CHECK_OK("write", write_mode("s-noexec", "#!./noexec\n", 0755));
	CHECK_ERR("#! naming a file without x -> EACCES", try_exec("./s-noexec"), EACCES);
	CHECK_OK("write", write_mode("s-broken", "#!./phnum-max arg\n", 0755));
	CHECK_ERR("#! naming a broken ELF -> ENOEXEC", try_exec("./s-broken"), ENOEXEC);
	CHECK_OK("write", write_mode("s-interp", "#!./interp-missing\n", 0755));
	CHECK_ERR("#! naming an ELF whose interpreter is missing -> ENOENT", try_exec("./s-interp"), ENOENT);
	CHECK_OK("write", write_mode("s-empty", "#!\n", 0755));
	CHECK_ERR("#! with no interpreter -> ENOEXEC", try_exec("./s-empty"), ENOEXEC);
	int sfd = open("s-nul", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	CHECK_EQ("write", write(sfd, "#! \0/bin/sh\n", 12), 12);
	close(sfd);
	CHECK_ERR("#! whose name is cut to nothing by a NUL -> EACCES", try_exec("./s-nul"), EACCES);
	CHECK_OK("write", write_mode("s-blank", "#!  \t \n", 0755));
	CHECK_ERR("#! with only blanks -> ENOEXEC", try_exec("./s-blank"), ENOEXEC);
	char line[400];
	memset(line, 'a', sizeof line);
	memcpy(line, "#!./", 4);
	line[sizeof line - 1] = 0;
	CHECK_OK("write", write_mode("s-long", line, 0755));
	CHECK_ERR("#! name running past the 256 bytes read -> ENOEXEC", try_exec("./s-long"), ENOEXEC);
	memset(line, ' ', sizeof line);
	memcpy(line, "#!", 2);
	line[sizeof line - 1] = 0;
	CHECK_OK("write", write_mode("s-spaces", line, 0755));
	CHECK_ERR("#! followed by 256 bytes of blanks -> ENOEXEC", try_exec("./s-spaces"), ENOEXEC);
	CHECK_OK("write", write_mode("s-good", "#!./good\n", 0755));
	CHECK_EQ("#! naming a valid ELF runs", run("./s-good"), 42);
	/* Linux allows 5 levels of #! (exec_binprm: depth > 5 is ELOOP). */
	char name[16], text[32];
	for (int i = 1; i <= 6; i++) {
		snprintf(name, sizeof name, "s%d", i);
		snprintf(text, sizeof text, i == 1 ? "#!./good\n" : "#!./s%d\n", i - 1);
		CHECK_OK("write", write_mode(name, text, 0755));
	}
	CHECK_EQ("5 levels of #! run", run("./s5"), 42);
	CHECK_ERR("6 levels of #! -> ELOOP", try_exec("./s6"), ELOOP);

	/* Neither a file nor executable. */
	CHECK_ERR("a directory -> EACCES", try_exec("./adir"), EACCES);
	CHECK_ERR("a file without x -> EACCES", try_exec("./noexec"), EACCES);
	CHECK_ERR("a missing file -> ENOENT", try_exec("./no-such-file"), ENOENT);

	/* The path lookup's own errors. */
	CHECK_ERR("a file as a directory -> ENOTDIR", try_exec("./noexec/x"), ENOTDIR);
	CHECK_OK("symlink", symlink("loop", "loop"));
	CHECK_ERR("a symlink loop -> ELOOP", try_exec("./loop"), ELOOP);
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	CHECK_ERR("a component over NAME_MAX -> ENAMETOOLONG", try_exec(longname), ENAMETOOLONG);

	/* Still the same process, with what it had. */
	struct stat st;
	CHECK_OK("an fd opened before the failed execs is still open", fstat(kept, &st));
	CHECK("and it is still the scratch directory", S_ISDIR(st.st_mode));
	close(kept);
	t_tmpdir_end();
	T_DONE();
}
