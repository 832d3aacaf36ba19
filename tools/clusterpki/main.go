// Command clusterpki writes the certificates, keys and kubeconfigs of the
// local cluster (tools/cluster) into one folder: a CA, the API server's
// serving certificate and its client certificate for kubelets, the service
// account signing key, and a kubeconfig per client, each with a client
// certificate whose subject is the identity Kubernetes' default RBAC roles
// are bound to. A fresh cluster gets a fresh set; nothing is reused.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// client is a client of the API server: its kubeconfig's file name, and the
// user and groups of its certificate.
type client struct {
	file   string
	user   string
	groups []string
}

// The clients besides the kubelet, whose user names the node.
var clients = []client{
	{"admin", "kubernetes-admin", []string{"system:masters"}},
	{"controller-manager", "system:kube-controller-manager", nil},
	{"scheduler", "system:kube-scheduler", nil},
	{"kube-proxy", "system:kube-proxy", nil},
	// Bound by tools/cluster to a role that reads Services and endpoints.
	{"coredns", "system:coredns", nil},
}

func main() {
	dir := flag.String("dir", "", "folder to write into (created)")
	server := flag.String("server", "", "URL of the API server, e.g. https://10.200.0.2:6443")
	node := flag.String("node", "", "name of the node; its kubelet is system:node:<node>")
	sans := flag.String("apiserver-sans", "", "comma-separated names and IPs of the API server's certificate")
	flag.Parse()
	if *dir == "" || *server == "" || *node == "" || *sans == "" {
		fmt.Fprintln(os.Stderr, "usage: clusterpki -dir DIR -server URL -node NAME -apiserver-sans NAME,IP,...")
		os.Exit(2)
	}
	if err := run(*dir, *server, *node, strings.Split(*sans, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "clusterpki:", err)
		os.Exit(1)
	}
}

func run(dir, server, node string, sans []string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := newCA()
	if err != nil {
		return err
	}
	if err := ca.write(dir, "ca"); err != nil {
		return err
	}
	apiserver, err := ca.issue(pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth, sans)
	if err != nil {
		return err
	}
	if err := apiserver.write(dir, "apiserver"); err != nil {
		return err
	}
	kubeletClient, err := ca.issue(pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}}, x509.ExtKeyUsageClientAuth, nil)
	if err != nil {
		return err
	}
	if err := kubeletClient.write(dir, "apiserver-kubelet-client"); err != nil {
		return err
	}
	sa, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, "sa.key"), sa); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(sa.Public())
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return err
	}
	kubelet := client{"kubelet", "system:node:" + node, []string{"system:nodes"}}
	for _, c := range append(slices.Clone(clients), kubelet) {
		cert, err := ca.issue(pkix.Name{CommonName: c.user, Organization: c.groups}, x509.ExtKeyUsageClientAuth, nil)
		if err != nil {
			return err
		}
		if err := writeKubeconfig(filepath.Join(dir, c.file+".kubeconfig"), server, ca.certPEM, cert); err != nil {
			return err
		}
	}
	return nil
}

// pair is a certificate and its key.
type pair struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
}

func newCA() (*pair, error) {
	return sign(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "bookstore local cluster CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil)
}

// issue makes a certificate signed by p for subject, valid for usage and,
// for a server, for the DNS names and IP addresses in sans.
func (p *pair) issue(subject pkix.Name, usage x509.ExtKeyUsage, sans []string) (*pair, error) {
	tmpl := &x509.Certificate{
		Subject:     subject,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	return sign(tmpl, p)
}

// sign completes tmpl with a fresh key, serial and a year's validity, and
// signs it with parent (itself when nil).
func sign(tmpl *x509.Certificate, parent *pair) (*pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128)); err != nil {
		return nil, err
	}
	// An hour's leeway for clocks that disagree.
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().AddDate(1, 0, 0)
	issuer, signer := tmpl, crypto.Signer(key)
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &pair{cert: cert, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}, nil
}

func (p *pair) write(dir, name string) error {
	if err := os.WriteFile(filepath.Join(dir, name+".crt"), p.certPEM, 0o644); err != nil {
		return err
	}
	return writeKey(filepath.Join(dir, name+".key"), p.key)
}

func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func writeKey(path string, key crypto.Signer) error {
	b, err := keyPEM(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// writeKubeconfig writes a kubeconfig whose one context reaches server,
// trusting caPEM, as the client of cert.
func writeKubeconfig(path, server string, caPEM []byte, cert *pair) error {
	key, err := keyPEM(cert.key)
	if err != nil {
		return err
	}
	const name = "bookstore-local"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: cert.certPEM, ClientKeyData: key}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	return clientcmd.WriteToFile(*cfg, path)
}
